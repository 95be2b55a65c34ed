import pytest

from omniweave.demo import DEMO_CAPTIONS, run_demo
from omniweave.nano.components import component_dir

BUILT = all((component_dir(f"{m}-decoder") / "manifest.json").exists() for m in DEMO_CAPTIONS)


@pytest.mark.skipif(not BUILT, reason="nano decoders not built")
def test_demo_writes_media_and_page(tmp_path):
    lines = []
    page = run_demo(tmp_path, log=lines.append)
    html = page.read_text()
    assert page == tmp_path / "index.html"
    assert len(lines) == sum(len(c) for c in DEMO_CAPTIONS.values())
    for modality, tag in [("image", "<img"), ("audio", "<audio"), ("video", "<video")]:
        assert tag in html
        assert len(list((tmp_path / modality).iterdir())) == 2 * len(DEMO_CAPTIONS[modality])
