from __future__ import annotations

import socket
import threading
import time
import typing as t
from pathlib import Path

import libvirt
import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.client import LibvirtClient, still_there, translate
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import (
    AuthError,
    ConnectError,
    LibvirtError,
    NotFoundError,
)

TEST_URI = "test:///default"


def test_lookups_return_objects_or_none(test_conn: t.Any) -> None:
    with LibvirtClient.connect(TEST_URI) as client:
        assert client.domain("test").name() == "test"
        assert client.domain("svt-missing") is None
        assert client.network("default") is not None
        assert client.network("svt-missing") is None
        pool = client.pool("default-pool")
        assert pool is not None
        assert client.pool("svt-missing") is None
        assert client.volume(pool, "svt-missing.img") is None


def test_errors_keep_libvirt_code_and_message(test_conn: t.Any) -> None:
    with LibvirtClient.connect(TEST_URI) as client, pytest.raises(LibvirtError) as err:
        client.call("define domain from XML", client.conn.defineXML, "<domain type='test'><name>x</name></domain>")
    assert err.value.code == libvirt.VIR_ERR_XML_ERROR or err.value.code is not None
    assert str(err.value).startswith("define domain from XML: ")
    assert err.value.details()["libvirt_error"]["message"] == err.value.libvirt_message


def test_not_found_is_typed_when_the_object_had_to_exist(test_conn: t.Any) -> None:
    with pytest.raises(libvirt.libvirtError) as raw:
        test_conn.lookupByName("svt-missing")
    err = translate(raw.value, "start domain 'svt-missing'")
    assert isinstance(err, NotFoundError)
    assert err.code == libvirt.VIR_ERR_NO_DOMAIN
    assert str(err) == f"start domain 'svt-missing': {raw.value.get_error_message()}"
    assert "Domain not found" in str(err)


def test_read_only_connection_refuses_writes(test_conn: t.Any) -> None:
    with LibvirtClient.connect(TEST_URI, readonly=True) as client:
        assert client.readonly
        dom = client.domain("test")
        with pytest.raises(AuthError) as err:
            client.call("suspend domain 'test'", dom.suspend)
    assert err.value.code == libvirt.VIR_ERR_OPERATION_DENIED


def test_host_facts_on_the_test_driver(test_conn: t.Any) -> None:
    with LibvirtClient.connect(TEST_URI) as client:
        facts = client.host_facts()
    assert facts["uri"] == TEST_URI
    assert facts["hypervisor"] == "TEST"
    assert facts["cpus"] > 0 and facts["memory"] > 0
    assert facts["networks"] >= 1 and facts["storage_pools"] >= 1
    assert facts["capabilities_xml"].lstrip().startswith("<capabilities>")


def test_unknown_driver_is_a_connect_error() -> None:
    with pytest.raises(LibvirtError) as err:
        LibvirtClient.connect("svtnosuchdriver:///system")
    assert str(err.value).startswith("connect to svtnosuchdriver:///system: ")


def test_missing_socket_is_a_connect_error_with_a_hint(tmp_path: Path) -> None:
    uri = f"qemu+unix:///system?socket={tmp_path}/none.sock"
    with pytest.raises(ConnectError) as err:
        LibvirtClient.connect(uri)
    assert str(err.value).startswith(f"connect to {uri}: ")
    assert str(err.value).endswith(
        "(is libvirtd (or virtqemud) running on that host, and may this user use its socket?)"
    )


def test_connect_time_is_bounded(tmp_path: Path) -> None:
    # A peer that accepts the connection and never answers: the open must not hang.
    path = tmp_path / "silent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    uri = f"qemu+unix:///system?socket={path}"
    started = time.monotonic()
    try:
        with pytest.raises(ConnectError) as err:
            LibvirtClient.connect(uri, timeout=1.5)
    finally:
        for conn in accepted:
            conn.close()
        server.close()
    assert time.monotonic() - started < 10
    assert str(err.value) == (
        f"connect to {uri}: no answer within 1.5 s (check that the host is reachable and libvirtd runs there, "
        "or raise connect_timeout)"
    )


def test_objects_removed_between_the_listing_and_their_reads_are_left_out(test_conn: t.Any) -> None:
    """A domain another play undefines while a module reads them all is left out; other errors still fail."""
    with LibvirtClient.connect(TEST_URI) as client:
        gone = client.conn.defineXML(
            "<domain type='test'><name>svt-gone</name><memory>8192</memory><os><type>hvm</type></os></domain>"
        )
        listed = client.conn.listAllDomains(0)
        gone.undefine()
        assert "svt-gone" in [d.name() for d in listed]
        assert still_there(listed, lambda d: (d.name(), d.XMLDesc(0))) == [("test", client.domain("test").XMLDesc(0))]
        with pytest.raises(libvirt.libvirtError, match="svt-none"):
            still_there([client.domain("test")], lambda d: d.blockInfo("svt-none"))
