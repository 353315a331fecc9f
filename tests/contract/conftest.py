"""Contract tests: libvirt's in-process test:///default driver, no daemon needed."""

from __future__ import annotations

import typing as t

import pytest

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed (make setup installs it)")

TEST_URI = "test:///default"


@pytest.fixture
def test_conn() -> t.Iterator[t.Any]:
    """An open test:///default connection; it keeps the driver's state alive during a test."""
    conn = libvirt.open(TEST_URI)
    try:
        yield conn
    finally:
        conn.close()
