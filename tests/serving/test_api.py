"""The OpenAI-compatible API, through a real server on loopback and the official ``openai`` client."""

from __future__ import annotations

import base64
import io
import threading
import time

import httpx
import numpy as np
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")

from omniweave.media import Audio, Image  # noqa: E402
from omniweave.nano import judges, world  # noqa: E402
from omniweave.serving.api import ServerThread, Settings, create_app  # noqa: E402
from omniweave.serving.codec import Limits  # noqa: E402

FAST = {"steps": 8}  # few diffusion steps: plumbing, not quality
LIMITS = Limits(max_request_bytes=2 * 2**20, max_media=2, max_image_pixels=256 * 256,
                max_audio_seconds=5.0, max_tokens=128)


@pytest.fixture(scope="module")
def server(serving_model):
    model = serving_model
    with ServerThread(create_app(model, Settings(limits=LIMITS, model_name="nano"))) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=60)


def _png_url(image: Image) -> str:
    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(image.pixels).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _wav_b64(audio: Audio) -> str:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, audio.samples, audio.sample_rate, format="WAV", subtype="PCM_16")
    return base64.b64encode(buf.getvalue()).decode()


def _image_part(image: Image) -> dict:
    return {"type": "image_url", "image_url": {"url": _png_url(image)}}


def _error(e: openai.APIStatusError) -> dict:
    body = e.response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    return body


def test_models_and_health(client, server):
    assert [m.id for m in client.models.list().data] == ["nano"]
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["max_batch"] == 8


def test_image_in_text_out(client, serving_model):
    image = world.render(world.parse_caption("a large red circle on the left"))
    reply = client.chat.completions.create(model="nano", messages=[{"role": "user", "content": [
        _image_part(image), {"type": "text", "text": "describe it."}]}])
    text = reply.choices[0].message.content
    assert isinstance(text, str) and text
    assert reply.choices[0].message.media == []
    assert reply.usage.prompt_tokens > 0
    assert "red" in text and "circle" in text


def test_text_in_image_out(client, serving_model):
    reply = client.chat.completions.create(
        model="nano", messages=[{"role": "user", "content": "draw a small red circle in the center"}],
        extra_body=FAST)
    message = reply.choices[0].message
    images = [m for m in message.media if m["type"] == "image"]
    assert images and images[0]["mime_type"] == "image/png"
    from PIL import Image as PILImage

    pixels = np.asarray(PILImage.open(io.BytesIO(base64.b64decode(images[0]["data"]))))
    assert pixels.shape == (32, 32, 3)
    assert message.audio is None
    assert judges.judge(Image(pixels))["color"] == "red"


def test_audio_in_text_out_and_audio_out(client, serving_model):
    audio = world.render(world.parse_caption("a pulsing high square tone"))
    reply = client.chat.completions.create(model="nano", messages=[{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": _wav_b64(audio), "format": "wav"}},
        {"type": "text", "text": "what do you hear?"}]}])
    text = reply.choices[0].message.content
    assert isinstance(text, str) and text
    assert "high" in text
    played = client.chat.completions.create(
        model="nano", messages=[{"role": "user", "content": "play a steady low sine tone"}],
        extra_body=FAST).choices[0].message
    assert played.audio is not None and played.audio.transcript == played.content
    assert base64.b64decode(played.audio.data)[:4] == b"RIFF"
    assert [m["mime_type"] for m in played.media] == ["audio/wav"]


def test_video_in_text_out(client, serving_model):
    from omniweave.serving.codec import encode_medium

    video = world.render(world.parse_caption("a green triangle moving up"))
    _, mime, data = encode_medium(video)
    url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    reply = client.chat.completions.create(model="nano", messages=[{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": url}}, {"type": "text", "text": "describe it."}]}])
    text = reply.choices[0].message.content
    assert isinstance(text, str) and text
    assert "green" in text


def test_the_cli_checks_its_options(capsys):
    from omniweave.cli import main

    assert main(["serve", "--max-batch", "0"]) == 2
    assert "--max-batch" in capsys.readouterr().err


def test_streaming_sends_text_deltas_then_the_media(client):
    messages = [{"role": "user", "content": "draw a large blue square on the right"}]
    whole = client.chat.completions.create(model="nano", messages=messages, seed=3,
                                           extra_body=FAST)
    chunks = list(client.chat.completions.create(model="nano", messages=messages, seed=3,
                                                 stream=True, extra_body=FAST))
    deltas = [c.choices[0].delta.content or "" for c in chunks]
    assert "".join(deltas) == whole.choices[0].message.content
    last = chunks[-1].choices[0]
    assert last.finish_reason in ("stop", "length")
    media = last.delta.model_extra["media"]
    assert [m["type"] for m in media] == ["image"]
    assert media[0]["data"] == whole.choices[0].message.media[0]["data"]  # the seed holds
    assert all("media" not in (c.choices[0].delta.model_extra or {}) for c in chunks[:-1])


def test_history_with_an_assistant_turn(client):
    reply = client.chat.completions.create(model="nano", messages=[
        {"role": "user", "content": "draw a small green triangle on the left"},
        {"role": "assistant", "content": "here is a small green triangle on the left.",
         "media": [{"type": "image", "mime_type": "image/png", "data": ""}]},
        {"role": "user", "content": "what color is it?"}], extra_body={"modalities": ["text"]})
    assert isinstance(reply.choices[0].message.content, str)


@pytest.mark.parametrize("part, param, code", [
    ({"type": "image_url", "image_url": {"url": "data:image/png;base64,bm90IGFuIGltYWdl"}},
     "messages[0].content[0].image_url.url", "invalid_media"),
    ({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}},
     "messages[0].content[0].image_url.url", "invalid_base64"),
    ({"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}},
     "messages[0].content[0].image_url.url", "unsupported_media_type"),
    ({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
     "messages[0].content[0].image_url.url", "remote_media_disabled"),
    ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
     "messages[0].content[0].input_audio.data", "invalid_media"),
    ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "flac"}},
     "messages[0].content[0].input_audio.format", "unsupported_media_type"),
    ({"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA"}},
     "messages[0].content[0].video_url.url", "invalid_media"),
    ({"type": "text", "text": "what is <image> here?"}, "messages[0].content[0]",
     "placeholder_in_text"),
    ({"type": "file", "file": {}}, "messages[0].content[0].type", "invalid_value"),
])
def test_bad_media_is_a_400_naming_the_field(client, part, param, code):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="nano", messages=[{"role": "user", "content": [part]}])
    assert e.value.status_code == 400
    error = _error(e.value)
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert "/tmp" not in error["message"]


def test_limits(client, server):
    small = world.render(world.parse_caption("a large red circle on the left"))
    three = [_image_part(small)] * 3
    big = Image(np.zeros((300, 300, 3), np.uint8))
    long = Audio(np.zeros(16000 * 6, np.float32), 16000)
    cases = [
        ([{"role": "user", "content": three}], {}, "max_media"),
        ([{"role": "user", "content": [_image_part(big)]}], {}, "max_image_pixels"),
        ([{"role": "user", "content": [{"type": "input_audio", "input_audio": {
            "data": _wav_b64(long), "format": "wav"}}]}], {}, "max_audio_seconds"),
        ([{"role": "user", "content": "hi"}], {"max_tokens": 1000}, "max_tokens"),
    ]
    for messages, extra, limit in cases:
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model="nano", messages=messages, **extra)
        error = _error(e.value)
        assert error["code"] == limit and limit in error["message"], error
    huge = "x" * (LIMITS.max_request_bytes + 10)
    r = httpx.post(server.url + "/v1/chat/completions", timeout=30,
                   json={"model": "nano", "messages": [{"role": "user", "content": huge}]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "max_request_bytes"
    r = httpx.post(server.url + "/v1/chat/completions", content=b"{not json", timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def test_images_api(client, serving_model):
    out = client.images.generate(model="nano", prompt="a small red circle in the center", n=1,
                                 size="64x64", response_format="b64_json", extra_body=FAST)
    from PIL import Image as PILImage

    image = PILImage.open(io.BytesIO(base64.b64decode(out.data[0].b64_json)))
    assert image.format == "PNG" and image.size == (64, 64)
    assert out.data[0].revised_prompt == "draw a small red circle in the center"
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(model="nano", prompt="a red circle", n=9)
    assert _error(e.value)["code"] == "max_images"


# ------------------------------------------------------------------ queue and key
class _Slow:
    """A model stub that takes ``delay`` seconds per generate."""

    def __init__(self, delay: float):
        self.delay = delay

    def generate(self, messages, media=None, **options):
        from omniweave.model import Response

        time.sleep(self.delay)
        if messages and isinstance(messages[0], dict):
            return Response("ok")
        return [Response("ok") for _ in messages]


@pytest.fixture(scope="module")
def slow_server():
    settings = Settings(api_key="sekret", max_batch=1, queue_size=1, model_name="slow")
    with ServerThread(create_app(_Slow(1.0), settings)) as s:
        yield s


def test_a_full_queue_answers_429(slow_server):
    client = openai.OpenAI(base_url=slow_server.url + "/v1", api_key="sekret", max_retries=0)
    ask = {"model": "slow", "messages": [{"role": "user", "content": "hi"}]}
    first = threading.Thread(target=client.chat.completions.create, kwargs=ask)
    first.start()
    while httpx.get(slow_server.url + "/health").json()["running"] != 1:
        time.sleep(0.01)
    second = threading.Thread(target=client.chat.completions.create, kwargs=ask)
    second.start()
    while httpx.get(slow_server.url + "/health").json()["waiting"] != 1:
        time.sleep(0.01)
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(**ask)
    assert _error(e.value)["code"] == "queue_full"
    first.join()
    second.join()


def test_the_api_key_is_required(slow_server):
    for key in ("wrong", ""):
        client = openai.OpenAI(base_url=slow_server.url + "/v1", api_key=key or "-", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as e:
            client.models.list()
        assert _error(e.value)["code"] == "invalid_api_key"
    assert httpx.get(slow_server.url + "/v1/models").status_code == 401
    assert httpx.get(slow_server.url + "/health").status_code == 200
    client = openai.OpenAI(base_url=slow_server.url + "/v1", api_key="sekret", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["slow"]
