"""An OpenAI-compatible HTTP API for an any-to-any model (FastAPI).

``POST /v1/chat/completions`` (media in as content parts, media out in ``message.media`` and
OpenAI's ``message.audio``), ``POST /v1/images/generations``, ``GET /v1/models``, ``GET /health``.
Requests go through a ``Batcher``: one worker thread owns the model and batches what arrives
together. Errors have OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Beyond OpenAI's fields, a chat request may set ``steps`` and ``guidance`` (the diffusion
decoders') and ``modalities: ["text"]`` (no media made); ``seed`` applies to images too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from omniweave.errors import InputError
from omniweave.serving.batcher import Batcher, Options, QueueFull, Result
from omniweave.serving.codec import ApiError, Limits, MediaReader, bad, media_part, over_limit

log = logging.getLogger(__name__)
_ASKS_TO_DRAW = re.compile(r"^\W*(please\s+)?(can you\s+|could you\s+)?(draw|paint|sketch|"
                           r"make|create|generate|render|show)\b", re.I)


@dataclass
class Settings:
    """How a server runs: access, batching, limits and defaults."""
    api_key: str | None = None         # when set, /v1/* need "Authorization: Bearer <key>"
    allow_remote_media: bool = False   # http(s) media URLs (fetched by the server)
    max_batch: int = 8                 # requests per batched generate (1: one at a time)
    queue_size: int = 64               # requests waiting at most; past it, 429
    batch_wait_ms: float = 5.0         # how long a batch waits for company when the queue is short
    default_max_tokens: int = 64
    model_name: str | None = None      # the id /v1/models lists (default: omniweave-<preset>)
    tools: list[str] | None = None     # registered tools the server runs itself (None: off)
    limits: Limits = field(default_factory=Limits)


def create_app(model: Any, settings: Settings | None = None) -> FastAPI:
    """The FastAPI app serving ``model``; its batcher starts and stops with the app."""
    settings = settings or Settings()
    name = settings.model_name or f"omniweave-{getattr(getattr(model, 'cfg', None), 'name', 'model')}"
    batcher = Batcher(model, settings.max_batch, settings.queue_size, settings.batch_wait_ms)
    reader = MediaReader(settings.limits, settings.allow_remote_media)
    limits = settings.limits
    started = int(time.time())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        try:
            yield
        finally:
            await run_in_threadpool(batcher.stop)

    app = FastAPI(title="omniweave", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.batcher, app.state.settings, app.state.model_name = batcher, settings, name

    # -------------------------------------------------------------- errors
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError) -> JSONResponse:
        return JSONResponse(e.body(), status_code=e.status)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, e: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code)
        return JSONResponse(ApiError(e.status_code, str(e.detail), None, code).body(),
                            status_code=e.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, e: RequestValidationError) -> JSONResponse:
        return JSONResponse(bad(str(e.errors()[:1]), None).body(), status_code=400)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error")
        err = ApiError(500, f"internal error ({type(e).__name__})", None, "internal_error",
                       "server_error")
        return JSONResponse(err.body(), status_code=500)

    # -------------------------------------------------------------- helpers
    async def auth(request: Request) -> None:
        if not settings.api_key:
            return
        given = request.headers.get("authorization", "")
        scheme, _, key = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(),
                                                                 settings.api_key.encode()):
            raise ApiError(401, "Incorrect or missing API key: send 'Authorization: Bearer <key>'",
                           None, "invalid_api_key")

    async def read_json(request: Request) -> dict[str, Any]:
        most = limits.max_request_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > most:
            raise over_limit("the request's size in bytes", int(declared), "max_request_bytes",
                             most, None, status=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > most:
                raise over_limit("the request's size in bytes", len(body), "max_request_bytes",
                                 most, None, status=413)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise bad(f"the body is not valid JSON ({e})", None, "invalid_json") from e
        if not isinstance(data, dict):
            raise bad("the body must be a JSON object", None, "invalid_json")
        return data

    async def run(messages: list[dict], media: list, options: Options, seed: int | None
                  ) -> Result:
        try:
            future = batcher.submit(messages, media, options, seed)
        except QueueFull as e:
            raise ApiError(429, f"the server is busy: {e}", None, "queue_full",
                           "rate_limit_error") from e
        try:
            return await asyncio.wrap_future(future)
        except InputError as e:
            raise bad(str(e), "messages", "invalid_input") from e

    # -------------------------------------------------------------- routes
    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": name, "running": batcher.running,
                "waiting": batcher.waiting, "queue_size": batcher.queue_size,
                "max_batch": batcher.max_batch, **batcher.stats}

    @app.get("/v1/models", dependencies=[Depends(auth)])
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [_model_card(name, started)]}

    @app.get("/v1/models/{model_id}", dependencies=[Depends(auth)])
    async def model_card(model_id: str) -> dict[str, Any]:
        if model_id != name:
            raise ApiError(404, f"The model '{model_id}' does not exist (this server serves "
                           f"'{name}')", "model", "model_not_found")
        return _model_card(name, started)

    @app.post("/v1/chat/completions", dependencies=[Depends(auth)])
    async def chat(request: Request) -> Any:
        body = await read_json(request)
        options, seed = _options(body, settings)
        if _int(body, "n", 1, 1, None) != 1:
            raise bad("only n=1 is supported", "n")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise bad("expected true or false", "stream")
        from omniweave.serving import tools as tooling

        wanted = tooling.client_tools(body)  # the client runs these (tool_calls in the reply)
        messages, media = await run_in_threadpool(reader.messages,
                                                  tooling.tool_messages(body.get("messages")))
        calls = None
        if wanted:
            result = await run(tooling.with_tool_list(messages, wanted), media,
                               dataclasses.replace(options, tools=tuple(wanted)), seed)
            calls = tooling.openai_tool_calls(result.response.text)
            made = result.response.media
        elif settings.tools and body.get("tool_choice") != "none":
            result, made = await _run_server_tools(run, messages, media, options, seed,
                                                   settings.tools)
        else:
            result = await run(messages, media, options, seed)
            made = result.response.media
        parts = await run_in_threadpool(lambda: [media_part(m) for m in made])
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        finish = ("length" if result.completion_tokens is not None
                  and result.completion_tokens >= options.max_new_tokens else "stop")
        text = result.response.text
        audio = _audio(parts, text, reply_id, created)
        usage = _usage(result)
        if stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _chunks(reply_id, created, name, text, parts, audio, finish,
                             usage if include_usage else None)
            return StreamingResponse(chunks, media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        message = {"role": "assistant", "content": text, "refusal": None, "audio": audio,
                   "media": parts}
        if calls:
            message.update(content=None, tool_calls=calls)
            finish = "tool_calls"
        return {"id": reply_id, "object": "chat.completion", "created": created, "model": name,
                "choices": [{"index": 0, "message": message, "finish_reason": finish,
                             "logprobs": None}],
                "usage": usage, "system_fingerprint": None}

    @app.post("/v1/images/generations", dependencies=[Depends(auth)])
    async def images(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise bad("expected a non-empty prompt", "prompt")
        n = _int(body, "n", 1, 1, None)
        if n > limits.max_images:
            raise over_limit("n", n, "max_images", limits.max_images, "n")
        fmt = body.get("response_format") or "b64_json"
        if fmt not in ("b64_json", "url"):
            raise bad(f"unsupported response_format {fmt!r} (use b64_json, or url for a data "
                      "URL)", "response_format")
        size = _size(body.get("size"), limits)
        seed = _int(body, "seed", 0, 0, 2**62)
        options = Options(max_new_tokens=settings.default_max_tokens, temperature=0.0, top_p=1.0,
                          steps=_int(body, "steps", None, 1, 1000),
                          guidance=_float(body, "guidance", None, 0.0, 100.0))
        request_text = prompt.strip() if _ASKS_TO_DRAW.match(prompt) else f"draw {prompt.strip()}"
        messages = [{"role": "user", "content": request_text}]
        results = await asyncio.gather(*(run(messages, [], options, seed + k) for k in range(n)))
        data = []
        for result in results:
            drawn = [m for m in result.response.media if m.modality == "image"]
            if not drawn:
                raise ApiError(422, f"the model answered {result.response.text!r} and drew no "
                               "image for this prompt", "prompt", "no_image_generated")
            image = drawn[0].resize(size) if size else drawn[0]
            part = await run_in_threadpool(media_part, image)
            item = ({"b64_json": part["data"]} if fmt == "b64_json"
                    else {"url": f"data:image/png;base64,{part['data']}"})
            data.append({**item, "revised_prompt": request_text})
        return {"created": int(time.time()), "data": data}

    return app


async def _run_server_tools(run, messages: list[dict], media: list, options: Options,
                            seed: int | None, names: list[str]) -> tuple[Result, list]:
    """The server's own tool loop: each round one request through the batcher, then the calls
    run (``omniweave.tools.runtime``); returns the last round's result and the reply's media."""
    from omniweave.tools.format import to_template_messages
    from omniweave.tools.registry import ToolSet
    from omniweave.tools.runtime import MAX_ROUNDS, ToolRun, _step, with_system

    tools = ToolSet.of(names)
    options = dataclasses.replace(options, tools=tuple(tools.tools))
    state = ToolRun("", messages=with_system(messages, tools), all_media=list(media))
    for round_ in range(MAX_ROUNDS + 1):
        result = await run(to_template_messages(state.messages), list(state.all_media), options, seed)
        if not await run_in_threadpool(_step, state, result.response, tools, round_ == MAX_ROUNDS):
            break
    result.response.text = state.text
    return result, state.media


# ------------------------------------------------------------------ request fields
def _int(body: dict, key: str, default: Any, lo: int | None, hi: int | None) -> Any:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"expected an integer, got {value!r}", key)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise bad(f"{value} is out of range [{lo}, {hi if hi is not None else '...'}]", key)
    return value


def _float(body: dict, key: str, default: Any, lo: float, hi: float) -> Any:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad(f"expected a number, got {value!r}", key)
    if not lo <= value <= hi:
        raise bad(f"{value} is out of range [{lo}, {hi}]", key)
    return float(value)


def _options(body: dict, settings: Settings) -> tuple[Options, int | None]:
    limits = settings.limits
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = _int(body, key, settings.default_max_tokens, 1, None)
    if max_tokens > limits.max_tokens:
        raise over_limit(key, max_tokens, "max_tokens", limits.max_tokens, key)
    top_p = _float(body, "top_p", 1.0, 0.0, 1.0)
    if top_p == 0.0:
        raise bad("top_p must be above 0", "top_p")
    modalities = body.get("modalities")
    if modalities is not None and (not isinstance(modalities, list)
                                   or not set(modalities) <= {"text", "image", "audio", "video"}):
        raise bad("expected a list of text, image, audio, video", "modalities")
    options = Options(max_new_tokens=max_tokens,
                      temperature=_float(body, "temperature", 0.0, 0.0, 2.0),
                      top_p=top_p,
                      steps=_int(body, "steps", None, 1, 1000),
                      guidance=_float(body, "guidance", None, 0.0, 100.0),
                      make_media=modalities is None or set(modalities) != {"text"})
    return options, _int(body, "seed", None, 0, 2**63 - 1)


def _size(size: Any, limits: Limits) -> tuple[int, int] | None:
    if size in (None, "auto"):
        return None
    m = re.fullmatch(r"(\d+)x(\d+)", size) if isinstance(size, str) else None
    if m is None:
        raise bad(f"expected WIDTHxHEIGHT or auto, got {size!r}", "size")
    w, h = int(m[1]), int(m[2])
    if not (0 < w <= limits.max_image_size and 0 < h <= limits.max_image_size):
        raise over_limit("the size's larger side", max(w, h), "max_image_size",
                         limits.max_image_size, "size")
    return w, h


# ------------------------------------------------------------------ replies
def _model_card(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "omniweave"}


def _audio(parts: list[dict], text: str, reply_id: str, created: int) -> dict | None:
    """OpenAI's ``message.audio`` for the first generated audio clip (WAV), if any."""
    for part in parts:
        if part["type"] == "audio":
            return {"id": f"audio_{reply_id.removeprefix('chatcmpl-')}", "data": part["data"],
                    "expires_at": created + 3600, "transcript": text}
    return None


def _usage(result: Result) -> dict[str, int] | None:
    if result.prompt_tokens is None or result.completion_tokens is None:
        return None
    return {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
            "total_tokens": result.prompt_tokens + result.completion_tokens}


async def _chunks(reply_id: str, created: int, name: str, text: str, parts: list[dict],
                  audio: dict | None, finish: str, usage: dict | None) -> AsyncIterator[str]:
    """Server-sent events: the role, the text in word-sized deltas, then the media and
    ``finish_reason`` in the last chunk, then ``[DONE]``."""
    def event(delta: dict, finish_reason: str | None = None, **extra: Any) -> str:
        chunk = {"id": reply_id, "object": "chat.completion.chunk", "created": created,
                 "model": name, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                             "finish_reason": finish_reason}], **extra}
        return f"data: {json.dumps(chunk)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in re.findall(r"\s*\S+|\s+$", text):
        yield event({"content": piece})
    last: dict[str, Any] = {"media": parts}
    if audio is not None:
        last["audio"] = audio
    yield event(last, finish)
    if usage is not None:
        yield f"data: {json.dumps({'id': reply_id, 'object': 'chat.completion.chunk', 'created': created, 'model': name, 'choices': [], 'usage': usage})}\n\n"
    yield "data: [DONE]\n\n"


def serve(model: Any, settings: Settings | None = None, host: str = "127.0.0.1",
          port: int = 8000, log_level: str = "info") -> None:
    """Run the API with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(model, settings), host=host, port=port, log_level=log_level)


class ServerThread:
    """An app served by uvicorn on a background thread (tests, benches, notebooks)::

        with ServerThread(create_app(model)) as server:
            OpenAI(base_url=server.url + "/v1", api_key="-")
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning"):
        import socket

        import uvicorn

        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name="omniweave-server", daemon=True)

    def start(self, timeout: float = 30.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server at {self.url} did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
