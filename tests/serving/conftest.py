"""Shared fixture of the serving tests: the shipped trained nano model they serve."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def serving_model(request):
    """The shipped trained nano any-to-any model (skips where the checkout has none)."""
    return request.getfixturevalue("trained_model")
