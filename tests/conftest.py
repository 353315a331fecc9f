"""Shared pytest setup: the collection on sys.path, layer markers, unique name prefixes."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from testbed.paths import link_collection  # noqa: E402
from testbed.plugins import init_collection_loader  # noqa: E402

link_collection()
# Conftests import the collection as pytest loads them, before any plugin's pytest_configure: the finder is
# installed here first. pytest-ansible (--ansible-unit-inject-only) installs its own over the same path later.
init_collection_loader()

LAYERS = ("unit", "contract", "integration")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for layer in LAYERS:
            if layer in parts:
                item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture
def prefix() -> str:
    """A unique name prefix for everything one test creates (``svt-`` + 6 hex digits)."""
    return f"svt-{secrets.token_hex(3)}"
