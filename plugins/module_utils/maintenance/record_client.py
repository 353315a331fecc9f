"""Read, set and clear a hypervisor's maintenance mark (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, libvirt_errors
from .record_model import RECORD_NETWORK, Record, read_record, record_xml


def host_record(client: LibvirtClient) -> t.Optional[Record]:
    """The host's maintenance record, or None when it is in service."""
    network = client.network(RECORD_NETWORK)
    if network is None:
        return None
    with libvirt_errors(f"read the maintenance record of {client.uri}"):
        return read_record(network.XMLDesc(0))


def mark(client: LibvirtClient, record: Record) -> None:
    with libvirt_errors(f"mark {client.uri} in maintenance"):
        client.conn.networkDefineXML(record_xml(record))


def unmark(client: LibvirtClient) -> None:
    network = client.network(RECORD_NETWORK)
    if network is not None:
        with libvirt_errors(f"put {client.uri} back in service"):
            network.undefine()
