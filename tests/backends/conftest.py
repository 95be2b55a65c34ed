"""Tiny random models of the real classes, built once per session into a temporary folder, and
presets that point at them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import tiny  # noqa: E402


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    return tiny.build_all(tmp_path_factory.mktemp("tiny-models"))
