from omniweave.demo import SCRIPTS, run_demo


def test_demo_plays_every_script_and_writes_a_page(tmp_path, trained_model):
    lines = []
    page = run_demo(tmp_path, model=trained_model, log=lines.append)
    html = page.read_text()
    assert page == tmp_path / "index.html"
    assert sum(line.startswith("omniweave: ") for line in lines) == sum(len(s.turns) for s in SCRIPTS)
    for tag in ("<img", "<audio", "<video"):
        assert tag in html
    made = list(tmp_path.glob("*-made*"))
    assert len(made) == sum(1 for s in SCRIPTS for t in s.turns if t.expect)
    assert sum(line.endswith("✓") for line in lines) >= 0.7 * len(made)
