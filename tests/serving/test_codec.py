"""Media on the wire: data URLs, base64 and remote URLs <-> media (no model)."""

from __future__ import annotations

import base64
import http.server
import io
import threading
from functools import partial

import numpy as np
import pytest

from omniweave.media import Image, Video
from omniweave.nano import world
from omniweave.serving.codec import ApiError, Limits, MediaReader, encode_medium, media_part

READER = MediaReader(Limits())


def _url(medium, mime=None) -> str:
    kind, out_mime, data = encode_medium(medium)
    return f"data:{mime or out_mime};base64,{base64.b64encode(data).decode()}"


def test_media_round_trip_through_data_urls(tmp_path):
    image = world.render(world.parse_caption("a large red circle on the left"))
    assert np.array_equal(READER.image(_url(image), "p").pixels, image.pixels)  # PNG: lossless
    video = world.render(world.parse_caption("a green triangle moving up"))
    back = READER.video(_url(video), "p")
    assert back.frames.shape == video.frames.shape and back.fps == video.fps
    gif = video.save(tmp_path / "clip.gif").read_bytes()
    back = READER.video("data:image/gif;base64," + base64.b64encode(gif).decode(), "p")
    assert back.frames.shape == video.frames.shape
    audio = world.render(world.parse_caption("a pulsing high square tone"))
    _, _, wav = encode_medium(audio)
    back = READER.audio(base64.b64encode(wav).decode(), "wav", "p")
    assert back.sample_rate == audio.sample_rate and abs(back.duration - audio.duration) < 1e-3
    part = media_part(audio)
    assert part["type"] == "audio" and part["mime_type"] == "audio/wav"


def test_mp3_audio_is_read():
    import soundfile as sf

    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3")
    audio = world.render(world.parse_caption("a steady low sine tone"))
    buf = io.BytesIO()
    sf.write(buf, audio.samples, audio.sample_rate, format="MP3")
    back = READER.audio(base64.b64encode(buf.getvalue()).decode(), "mp3", "p")
    assert abs(back.duration - audio.duration) < 0.1


def test_limits_on_video_frames_and_duration():
    video = Video(np.zeros((12, 16, 16, 3), np.uint8), 4.0)
    reader = MediaReader(Limits(max_video_frames=10))
    with pytest.raises(ApiError, match="max_video_frames=10"):
        reader.video(_url(video), "p")
    reader = MediaReader(Limits(max_video_seconds=2.0))
    with pytest.raises(ApiError, match="max_video_seconds=2") as e:
        reader.video(_url(video), "p")
    assert e.value.body()["error"]["code"] == "max_video_seconds"


def test_messages_map_to_placeholders_and_history():
    image = Image(np.zeros((8, 8, 3), np.uint8))
    messages, media = READER.messages([
        {"role": "developer", "content": "be brief."},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": _url(image)}},
                                     {"type": "text", "text": "describe it."}]},
        {"role": "assistant", "content": "here it is.", "media": [{"type": "audio"}]},
        {"role": "user", "content": [{"type": "text", "text": "again"}]}])
    assert messages == [{"role": "system", "content": "be brief."},
                        {"role": "user", "content": "<image>\ndescribe it."},
                        {"role": "assistant", "content": "here it is. <audio>"},
                        {"role": "user", "content": "again"}]
    assert len(media) == 1 and isinstance(media[0], Image)
    with pytest.raises(ApiError, match="only accepted in user messages"):
        READER.messages([{"role": "system", "content": [
            {"type": "image_url", "image_url": {"url": _url(image)}}]}])


def test_remote_urls_only_when_allowed(tmp_path):
    image = world.render(world.parse_caption("a small blue square in the center"))
    image.save(tmp_path / "sq.png")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/sq.png"
    try:
        with pytest.raises(ApiError, match="--allow-remote-media"):
            READER.image(url, "p")
        remote = MediaReader(Limits(), allow_remote=True)
        assert np.array_equal(remote.image(url, "p").pixels, image.pixels)
        with pytest.raises(ApiError, match="HTTP 404"):
            remote.image(url.replace("sq.png", "missing.png"), "p")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_errors_name_the_field_not_the_temporary_file():
    with pytest.raises(ApiError) as e:
        READER.audio("UklGRg==", "wav", "messages[0].content[0].input_audio")
    assert e.value.param == "messages[0].content[0].input_audio.data"
    assert "/tmp" not in e.value.message
