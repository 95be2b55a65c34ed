import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("OMNIWEAVE_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow end-to-end run; set OMNIWEAVE_SLOW=1 (make test-all)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fresh_model():
    """The nano any-to-any model with fresh (untrained) projectors: the base components only."""
    from omniweave.model import AnyToAny

    return AnyToAny.from_preset("nano", trained=False)


@pytest.fixture(scope="session")
def trained_model():
    """The shipped, trained nano any-to-any model (skips when this checkout has none)."""
    from omniweave.model import AnyToAny
    from omniweave.nano.components import WEIGHTS_DIR

    if not (WEIGHTS_DIR / "any-to-any" / "config.json").exists():
        pytest.skip("the trained nano any-to-any checkpoint is not shipped in this checkout")
    return AnyToAny.from_preset("nano")
