"""The Gradio web UI: through ``gradio_client``, and once in a real headless Chromium (slow)."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from omniweave.nano import world  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui(serving_model):
    from omniweave.serving.ui import launch

    model = serving_model
    port = _free_port()
    demo = launch(model, port=port, max_batch=2, block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()
    demo.batcher.stop()


def _ask(client, text, files=(), **settings):
    from gradio_client import handle_file

    message = {"text": text, "files": [handle_file(str(f)) for f in files]}
    return client.predict(message, settings.get("temperature", 0.0), settings.get("top_p", 1.0),
                          4.0, settings.get("steps", 6), 0, 64, api_name="/chat")


def _files(chat, role="assistant"):
    out = []
    for m in chat:
        if m["role"] != role:
            continue
        for part in m["content"] if isinstance(m["content"], list) else [m["content"]]:
            if isinstance(part, dict) and part.get("type") == "file":
                f = part["file"]  # the client's local copy: a path, or a file dict
                out.append(f if isinstance(f, str) else f["path"])
            elif isinstance(part, dict) and "path" in part:
                out.append(part["path"])
    return out


def _texts(chat, role="assistant"):
    out = []
    for m in chat:
        if m["role"] != role:
            continue
        for part in m["content"] if isinstance(m["content"], list) else [m["content"]]:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict) and part.get("type") == "text":
                out.append(part["text"])
    return out


def test_chat_draws_and_keeps_the_conversation(ui, serving_model, tmp_path):
    from PIL import Image as PILImage

    client = gradio_client.Client(ui, verbose=False)
    _, chat = _ask(client, "draw a small red circle in the center")
    images = _files(chat)
    assert len(images) == 1 and PILImage.open(images[0]).size == (256, 256)  # 32x32 shown x8
    client.predict(api_name="/clear")
    picture = world.render(world.parse_caption("a large blue square on the right"))
    path = picture.save(tmp_path / "square.png")
    _, chat = _ask(client, "describe it.", files=[path])
    assert [m["role"] for m in chat] == ["user", "user", "assistant"]  # the upload, the text
    assert len(_files(chat, "user")) == 1
    assert "blue" in _texts(chat)[-1]
    _, chat = _ask(client, "what shape is it?")  # the conversation is kept
    assert [m["role"] for m in chat].count("user") == 3
    assert len(_texts(chat)) == 2 and all(_texts(chat))
    client.predict(api_name="/clear")
    _, chat = _ask(client, "hello")
    assert [m["role"] for m in chat] == ["user", "assistant"]


def test_a_bad_upload_is_an_error_message(ui, tmp_path):
    client = gradio_client.Client(ui, verbose=False)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(Exception, match="cannot read image"):
        _ask(client, "describe it.", files=[bad])


# ------------------------------------------------------------------ a real browser
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, installed with apt-get when missing (as root), else a skip."""
    import os
    import subprocess

    if not os.path.exists(CHROMIUM):
        if os.geteuid() != 0:
            pytest.skip(f"{CHROMIUM} is missing and only root may apt-get install chromium")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
            if r.returncode != 0:
                last = (r.stderr.strip().splitlines() or ["no output"])[-1]
                pytest.skip(f"could not install Debian's chromium ({' '.join(cmd)}: {last})")
    return CHROMIUM


class _Page:
    """One headless Chromium tab driven over the DevTools protocol (no browser download)."""

    def __init__(self, exe, profile, width=1280, height=1000):
        import contextlib
        import json
        import subprocess
        import time

        import httpx
        from websockets.sync.client import connect

        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-extensions", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list").json()
        page = next(t for t in targets if t["type"] == "page")
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30))
        self.next_id, self.json = 0, json

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(self.json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = self.json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, js):
        out = self.send("Runtime.evaluate", expression=js, returnByValue=True, awaitPromise=True)
        return out.get("result", {}).get("value")

    def wait_for(self, js, timeout=120.0):
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(js)
            if value:
                return value
            time.sleep(0.25)
        raise TimeoutError(f"waited {timeout:g} s for: {js}")

    def close(self):
        if getattr(self, "_stack", None) is not None:
            self._stack.close()
        self.proc.terminate()
        self.proc.wait(10)


@pytest.mark.slow
def test_in_headless_chromium_a_prompt_gets_an_image(ui, chromium, tmp_path):
    """Loads the page, types a request, presses Enter, waits for the generated image and saves
    a screenshot ($OMNIWEAVE_SCREENSHOT, else under tmp_path)."""
    import base64
    import io
    import os
    from pathlib import Path

    import numpy as np
    from PIL import Image as PILImage

    page = _Page(chromium, tmp_path / "profile")
    try:
        page.send("Page.enable")
        page.send("Page.navigate", url=ui)
        page.wait_for("!!document.querySelector('#prompt textarea')", timeout=60)
        page.eval("document.querySelector('#prompt textarea').focus()")
        page.send("Input.insertText", text="draw a large red circle on the left")
        for kind in ("keyDown", "keyUp"):
            page.send("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, **({"text": "\r"} if kind == "keyDown" else {}))
        size = page.wait_for("(() => { const i = [...document.querySelectorAll('#chat img')]"
                             ".find(i => i.complete && i.naturalWidth > 0);"
                             " return i && [i.naturalWidth, i.naturalHeight]; })()")
        assert size == [256, 256]
        page.eval("[...document.querySelectorAll('#chat img')].pop().scrollIntoView()")
        shot = base64.b64decode(page.send("Page.captureScreenshot", format="png")["data"])
    finally:
        page.close()
    out = Path(os.environ.get("OMNIWEAVE_SCREENSHOT") or tmp_path / "ui.png")
    out.write_bytes(shot)
    print(f"screenshot: {out}")
    rgb = np.asarray(PILImage.open(io.BytesIO(shot)).convert("RGB")).astype(int)
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)
    assert red.sum() > 500  # the generated red circle is on screen
