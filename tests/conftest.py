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
