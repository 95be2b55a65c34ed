"""Media on the wire: data URLs and base64 <-> ``Image``/``Audio``/``Video``, within limits.

What comes in (OpenAI chat content parts): ``image_url`` (a ``data:image/png|jpeg`` URL),
``input_audio`` (base64 ``data`` + ``format`` wav|mp3, as OpenAI), ``video_url`` (a
``data:video/mp4|webm`` or ``data:image/gif`` URL, as vLLM); http(s) URLs only when the server
allows remote media. What goes out: PNG, WAV and MP4, base64. Every refusal is an ``ApiError``
whose OpenAI-style body names the field (``param``) and the limit or fault (``code``).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omniweave.errors import InputError
from omniweave.llm import PLACEHOLDER
from omniweave.media import Audio, Image, Media, Video, load_audio, load_image, load_video

IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/jpg": ".jpg"}
AUDIO_FORMATS = {"wav": ".wav", "mp3": ".mp3"}
VIDEO_TYPES = {"video/mp4": ".mp4", "video/webm": ".webm", "image/gif": ".gif"}
OUT_MIME = {"image": "image/png", "audio": "audio/wav", "video": "video/mp4"}
_OUT_SUFFIX = {"image": ".png", "audio": ".wav", "video": ".mp4"}
_DATA_URL = re.compile(r"data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)", re.S)


@dataclass(frozen=True)
class Limits:
    """What one request may carry; past a limit the answer is 400 (413 for bytes) naming it."""
    max_request_bytes: int = 32 * 2**20   # the whole HTTP body (base64 media included)
    max_media: int = 8                    # input media in one request, all messages together
    max_image_pixels: int = 4096 * 4096   # width x height of one input image
    max_audio_seconds: float = 60.0       # one input audio clip
    max_video_seconds: float = 60.0       # one input video
    max_video_frames: int = 600           # one input video
    max_tokens: int = 512                 # max_tokens / max_completion_tokens
    max_images: int = 4                   # n of /v1/images/generations
    max_image_size: int = 1024            # width or height of /v1/images/generations' size


class ApiError(Exception):
    """An error reply: HTTP ``status`` and OpenAI's ``{"error": {...}}`` body."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}


def bad(message: str, param: str | None, code: str = "invalid_value") -> ApiError:
    """A 400 invalid_request_error."""
    return ApiError(400, message, param, code)


def over_limit(what: str, value: float, limit_name: str, limit: float, param: str | None,
               status: int = 400) -> ApiError:
    """A request past one of ``Limits``: the message and ``code`` name the limit."""
    return ApiError(status, f"{what} is {value:g}, over the server's limit {limit_name}={limit:g}",
                    param, limit_name)


# ------------------------------------------------------------------ bytes in
def b64decode(data: Any, param: str) -> bytes:
    """Strict base64 (whitespace allowed) -> bytes, else a 400 naming ``param``."""
    if not isinstance(data, str) or not data.strip():
        raise bad("expected a non-empty base64 string", param)
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as e:
        raise bad(f"not valid base64 ({e})", param, "invalid_base64") from e


def parse_data_url(url: str, param: str) -> tuple[str, bytes]:
    """``data:<mime>;base64,<data>`` -> (mime, bytes)."""
    m = _DATA_URL.fullmatch(url.strip())
    if m is None or ";base64" not in m["params"].lower():
        raise bad("expected a base64 data URL (data:<mime type>;base64,<data>)", param,
                  "invalid_data_url")
    return m["mime"].strip().lower(), b64decode(m["data"], param)


def fetch_url(url: str, param: str, max_bytes: int, timeout: float = 10.0) -> tuple[str, bytes]:
    """GET an http(s) URL -> (mime from Content-Type, bytes), at most ``max_bytes``."""
    import httpx

    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as r:
            if r.status_code != 200:
                raise bad(f"fetching {url} answered HTTP {r.status_code}", param, "remote_media_error")
            body = bytearray()
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise over_limit("the fetched medium's size in bytes", len(body),
                                     "max_request_bytes", max_bytes, param, status=413)
            mime = r.headers.get("content-type", "").split(";")[0].strip().lower()
    except httpx.HTTPError as e:
        raise bad(f"cannot fetch {url} ({type(e).__name__})", param, "remote_media_error") from e
    return mime, bytes(body)


def _load(data: bytes, suffix: str, param: str, loader: Callable[[Path], Media]) -> Media:
    """Decode ``data`` with a ``media`` loader (through a temporary file, so the one set of
    readers and checks in ``omniweave.media`` applies); its errors are re-worded to ``param``."""
    with tempfile.TemporaryDirectory(prefix="omniweave-in-") as tmp:
        path = Path(tmp) / f"medium{suffix}"
        path.write_bytes(data)
        try:
            return loader(path)
        except InputError as e:
            raise bad(str(e).replace(str(path), param), param, "invalid_media") from e


class MediaReader:
    """Turns content parts into media, within ``limits``; http(s) URLs if ``allow_remote``."""

    def __init__(self, limits: Limits, allow_remote: bool = False):
        self.limits, self.allow_remote = limits, allow_remote

    def _url_bytes(self, url: Any, param: str) -> tuple[str, bytes]:
        if not isinstance(url, str) or not url.strip():
            raise bad("expected a URL string", param)
        if url.startswith("data:"):
            return parse_data_url(url, param)
        if url.startswith(("http://", "https://")):
            if not self.allow_remote:
                raise bad("remote media URLs are off on this server; send a base64 data URL "
                          "(or start it with --allow-remote-media)", param, "remote_media_disabled")
            return fetch_url(url, param, self.limits.max_request_bytes)
        raise bad("expected a data: URL" + (" or an http(s) URL" if self.allow_remote else ""),
                  param, "invalid_url")

    def image(self, url: Any, param: str) -> Image:
        mime, data = self._url_bytes(url, param)
        if mime not in IMAGE_TYPES:
            raise bad(f"unsupported image type {mime or '(none)'!r} (use image/png or image/jpeg)",
                      param, "unsupported_media_type")
        from PIL import Image as PILImage

        try:  # the header alone: refuse huge images before decoding them
            with PILImage.open(io.BytesIO(data)) as im:
                w, h = im.size
        except Exception as e:
            raise bad(f"cannot read image ({type(e).__name__}: {str(e)[:120]})", param,
                      "invalid_media") from e
        if w * h > self.limits.max_image_pixels:
            raise over_limit(f"the image's pixel count ({w}x{h})", w * h, "max_image_pixels",
                             self.limits.max_image_pixels, param)
        return _load(data, IMAGE_TYPES[mime], param, load_image)

    def audio(self, data: Any, fmt: Any, param: str) -> Audio:
        if fmt not in AUDIO_FORMATS:
            raise bad(f"unsupported audio format {fmt!r} (use wav or mp3)", f"{param}.format",
                      "unsupported_media_type")
        audio = _load(b64decode(data, f"{param}.data"), AUDIO_FORMATS[fmt], f"{param}.data",
                      load_audio)
        if audio.duration > self.limits.max_audio_seconds:
            raise over_limit("the audio's duration in seconds", round(audio.duration, 2),
                             "max_audio_seconds", self.limits.max_audio_seconds, param)
        return audio

    def video(self, url: Any, param: str) -> Video:
        mime, data = self._url_bytes(url, param)
        if mime not in VIDEO_TYPES:
            raise bad(f"unsupported video type {mime or '(none)'!r} (use video/mp4, video/webm or "
                      "image/gif)", param, "unsupported_media_type")
        most = self.limits.max_video_frames
        video = _load(data, VIDEO_TYPES[mime], param, lambda p: load_video(p, max_frames=most + 1))
        if len(video.frames) > most:
            raise over_limit("the video's frame count", len(video.frames), "max_video_frames",
                             most, param)
        if video.duration > self.limits.max_video_seconds:
            raise over_limit("the video's duration in seconds", round(video.duration, 2),
                             "max_video_seconds", self.limits.max_video_seconds, param)
        return video

    # -------------------------------------------------------------- chat messages
    def messages(self, raw: Any) -> tuple[list[dict[str, str]], list[Media]]:
        """OpenAI chat ``messages`` -> the model's messages (text with placeholders) and media.

        User content parts ``image_url``/``input_audio``/``video_url`` become placeholders (each
        followed by a newline, as ``model.normalize_messages`` writes them). An assistant turn is
        text; the media it lists in ``media`` (as this server returns them) come back as
        placeholders after its text, which is where the model writes them, so the model sees
        that it made them (their data is not read). Text may not hold placeholders itself.
        """
        if not isinstance(raw, list) or not raw:
            raise bad("expected a non-empty list of messages", "messages")
        out: list[dict[str, str]] = []
        media: list[Media] = []
        for i, msg in enumerate(raw):
            where = f"messages[{i}]"
            if not isinstance(msg, dict):
                raise bad("expected a message object", where)
            role = {"developer": "system"}.get(msg.get("role"), msg.get("role"))
            if role not in ("system", "user", "assistant"):
                raise bad(f"unsupported role {msg.get('role')!r} (use system, developer, user or "
                          "assistant)", f"{where}.role")
            text = self._content(msg.get("content"), role, f"{where}.content", media)
            if role == "assistant":
                made = msg.get("media") or []
                if not isinstance(made, list):
                    raise bad("expected a list of media", f"{where}.media")
                for k, item in enumerate(made):
                    kind = item.get("type") if isinstance(item, dict) else None
                    if kind not in PLACEHOLDER:
                        raise bad("expected {\"type\": \"image\"|\"audio\"|\"video\", ...}",
                                  f"{where}.media[{k}]")
                    text = f"{text} {PLACEHOLDER[kind]}".strip()
            out.append({"role": role, "content": text})
        return out, media

    def _content(self, content: Any, role: str, where: str, media: list[Media]) -> str:
        if content is None and role == "assistant":
            return ""
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(parts, list):
            raise bad("expected a string or a list of content parts", where)
        pieces = []
        for j, part in enumerate(parts):
            param = f"{where}[{j}]" if not isinstance(content, str) else where
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    raise bad("expected a text string", f"{param}.text")
                found = [p for p in PLACEHOLDER.values() if p in text]
                if found:
                    raise bad(f"text may not contain {found[0]}: send media as content parts "
                              "(image_url, input_audio, video_url)", param, "placeholder_in_text")
                pieces.append(text)
                continue
            if kind not in ("image_url", "input_audio", "video_url"):
                raise bad(f"unsupported content part type {kind!r} (use text, image_url, "
                          "input_audio or video_url)", f"{param}.type")
            if role != "user":
                raise bad(f"{kind} parts are only accepted in user messages", f"{param}.type")
            if len(media) >= self.limits.max_media:
                raise over_limit("the number of media in the request", len(media) + 1,
                                 "max_media", self.limits.max_media, param)
            body = part.get(kind)
            if kind == "input_audio":
                if not isinstance(body, dict):
                    raise bad("expected {\"data\": base64, \"format\": \"wav\"|\"mp3\"}",
                              f"{param}.input_audio")
                medium: Media = self.audio(body.get("data"), body.get("format"),
                                           f"{param}.input_audio")
            else:
                url = body.get("url") if isinstance(body, dict) else body
                read = self.image if kind == "image_url" else self.video
                medium = read(url, f"{param}.{kind}.url")
            media.append(medium)
            pieces.append(PLACEHOLDER[medium.modality] + "\n")
        return "".join(pieces)


# ------------------------------------------------------------------ bytes out
def encode_medium(medium: Media) -> tuple[str, str, bytes]:
    """(kind, mime type, file bytes) of a medium: PNG, 16-bit WAV or H.264 MP4."""
    kind = medium.modality
    with tempfile.TemporaryDirectory(prefix="omniweave-out-") as tmp:
        path = medium.save(Path(tmp) / f"medium{_OUT_SUFFIX[kind]}")
        return kind, OUT_MIME[kind], path.read_bytes()


def media_part(medium: Media) -> dict[str, str]:
    """``{"type", "mime_type", "data"}``: one entry of a reply's ``message.media``."""
    kind, mime, data = encode_medium(medium)
    return {"type": kind, "mime_type": mime, "data": base64.b64encode(data).decode("ascii")}


def data_url(part: dict[str, str]) -> str:
    """A ``media_part`` as a data URL."""
    return f"data:{part['mime_type']};base64,{part['data']}"
