"""Thin libvirt I/O layer: one connection helper, lookups, and error translation.

No check-mode logic lives here: callers decide, this layer only reads and writes.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import os
import threading
import typing as t
import xml.etree.ElementTree as ET

from .errors import AlreadyExists, AuthError, ConnectError, LibvirtError, MissingLibrary, NotFoundError, WaitTimeout

try:
    import libvirt
except ImportError:  # reported by require_libvirt() where it matters
    libvirt = None

DEFAULT_URI = "qemu:///system"
DEFAULT_CONNECT_TIMEOUT = 30
# A dead peer is noticed after interval * (count + 1) seconds instead of a TCP timeout.
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3

# libvirt's "no such object" codes, looked up by name so that a missing constant in an older
# binding does not break the import.
_EXISTS_CODES = ("VIR_ERR_STORAGE_VOL_EXIST", "VIR_ERR_DOM_EXIST", "VIR_ERR_NETWORK_EXIST")
_NOT_FOUND_CODES = (
    "VIR_ERR_NO_DOMAIN",
    "VIR_ERR_NO_NETWORK",
    "VIR_ERR_NO_STORAGE_POOL",
    "VIR_ERR_NO_STORAGE_VOL",
    "VIR_ERR_NO_SECRET",
    "VIR_ERR_NO_INTERFACE",
    "VIR_ERR_NO_NWFILTER",
    "VIR_ERR_NO_NODE_DEVICE",
    "VIR_ERR_NO_DOMAIN_SNAPSHOT",
    "VIR_ERR_NO_DOMAIN_CHECKPOINT",
    "VIR_ERR_NO_NETWORK_PORT",
)
_AUTH_CODES = ("VIR_ERR_AUTH_FAILED", "VIR_ERR_AUTH_CANCELLED", "VIR_ERR_OPERATION_DENIED", "VIR_ERR_ACCESS_DENIED")
_CONNECT_CODES = ("VIR_ERR_NO_CONNECT", "VIR_ERR_RPC", "VIR_ERR_SYSTEM_ERROR")

_event_loop_lock = threading.Lock()
_event_loop_started = False


def require_libvirt(where: str = "host that runs this task") -> None:
    """Raise MissingLibrary unless libvirt-python is importable."""
    if libvirt is None:
        raise MissingLibrary("libvirt-python", where)


def resolve_uri(uri: t.Optional[str]) -> str:
    """The URI to use: the option, else LIBVIRT_DEFAULT_URI, else qemu:///system."""
    return uri or os.environ.get("LIBVIRT_DEFAULT_URI") or DEFAULT_URI


def _codes(names: t.Iterable[str]) -> t.FrozenSet[int]:
    return frozenset(getattr(libvirt, n) for n in names if libvirt is not None and hasattr(libvirt, n))


def is_not_found(err: BaseException) -> bool:
    """True for libvirt's VIR_ERR_NO_* errors."""
    return (
        libvirt is not None
        and isinstance(err, libvirt.libvirtError)
        and err.get_error_code() in _codes(_NOT_FOUND_CODES)
    )


_Read = t.TypeVar("_Read")


def still_there(objects: t.Iterable[t.Any], read: t.Callable[[t.Any], _Read]) -> t.List[_Read]:
    """``read`` of each listed object, leaving out one removed between the listing and its read (another play
    undefined it, a migration took it away): it is not there to count, and its absence fails no task."""
    found = []
    for obj in objects:
        try:
            found.append(read(obj))
        except Exception as err:  # only libvirt's "no such object" is absorbed
            if not is_not_found(err):
                raise
    return found


def translate(err: BaseException, action: str, hint: str = "") -> LibvirtError:
    """Turn a libvirtError into the collection's typed error, keeping code and message."""
    if libvirt is None or not isinstance(err, libvirt.libvirtError):
        return LibvirtError(action, str(err), hint=hint)
    code = err.get_error_code()
    message = err.get_error_message() or str(err)
    args = (action, message, code, err.get_error_domain(), hint)
    if code in _codes(_NOT_FOUND_CODES):
        return NotFoundError(*args)
    if code in _codes(_EXISTS_CODES) or "already exists" in message:
        return AlreadyExists(*args)
    if code in _codes(_AUTH_CODES):
        return AuthError(*args)
    if code in _codes(_CONNECT_CODES):
        return ConnectError(*args)
    return LibvirtError(*args)


def inactive_xml(obj: t.Any, flag: int) -> str:
    """The persistent definition of a network or pool (``flag``: its XML_INACTIVE constant).

    Drivers that keep no separate persistent definition (test:///) refuse the flag; their only
    definition is returned instead.
    """
    try:
        return str(obj.XMLDesc(flag))
    except libvirt.libvirtError as err:
        if err.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        return str(obj.XMLDesc(0))


@contextlib.contextmanager
def libvirt_errors(action: str, hint: str = "") -> t.Iterator[None]:
    """Context manager: any libvirtError inside becomes a typed error about ``action``."""
    try:
        yield
    except Exception as err:  # only libvirt's errors are translated, others pass through
        if libvirt is not None and isinstance(err, libvirt.libvirtError):
            raise translate(err, action, hint) from None
        raise


def _quiet_default_error_handler() -> None:
    # libvirt prints every error to stderr unless a handler is set; ours are raised instead.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


def _start_event_loop() -> None:
    # Keepalive needs an event loop; libvirt's default implementation runs in a daemon thread.
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


def _open_bounded(uri: str, readonly: bool, timeout: float) -> t.Any:
    """Open the connection in a worker thread so a hanging transport cannot block forever."""
    box: t.Dict[str, t.Any] = {}

    def opener() -> None:
        try:
            box["conn"] = libvirt.openReadOnly(uri) if readonly else libvirt.open(uri)
        except Exception as err:  # handed to the caller's thread
            box["error"] = err

    worker = threading.Thread(target=opener, name="libvirt-connect", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise ConnectError(
            f"connect to {uri}",
            f"no answer within {timeout:g} s",
            hint="check that the host is reachable and libvirtd runs there, or raise connect_timeout",
        )
    if "error" in box:
        raise translate(box["error"], f"connect to {uri}", hint=_connect_hint(uri)) from None
    return box["conn"]


def _connect_hint(uri: str) -> str:
    if uri.startswith("qemu:///") or "+unix" in uri:
        return "is libvirtd (or virtqemud) running on that host, and may this user use its socket?"
    return "check the URI, the network path and the credentials for the transport"


class LibvirtClient:
    """One libvirt connection with lookups that return None for objects that do not exist."""

    abandoned = False
    storage_timeout: float = 120  # seconds a call that waits on a storage server may take

    def __init__(self, conn: t.Any, uri: str, readonly: bool = False) -> None:
        self.conn = conn
        self.uri = uri
        self.readonly = readonly
        self._host_uuid: t.Optional[str] = None

    @classmethod
    def connect(
        cls,
        uri: t.Optional[str] = None,
        readonly: bool = False,
        timeout: float = DEFAULT_CONNECT_TIMEOUT,
        keepalive: bool = True,
    ) -> LibvirtClient:
        """Open ``uri`` (see :func:`resolve_uri`) within ``timeout`` seconds."""
        require_libvirt()
        target = resolve_uri(uri)
        _quiet_default_error_handler()
        if keepalive:
            _start_event_loop()
        conn = _open_bounded(target, readonly, timeout)
        if keepalive:
            with contextlib.suppress(libvirt.libvirtError):
                # Local drivers (test:///, embedded) have no keepalive; that is fine.
                conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
        return cls(conn, target, readonly)

    def storage(self, storage: str, action: str, fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """A call that may wait on a storage server (NFS, Gluster, Ceph, iSCSI), bounded by ``storage_timeout``."""
        try:
            return self.bounded(action, self.storage_timeout, fn, *args)
        except WaitTimeout:
            raise WaitTimeout(
                f"storage {storage} did not answer within {self.storage_timeout:g} s ({action}); the operation may "
                "still finish once it answers - run the task again to see where it stands (raise timeout to wait "
                "longer)"
            ) from None

    def bounded(self, action: str, seconds: float, fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """``call`` that gives up after ``seconds``: a QEMU that is stopped or hung never answers, and libvirt
        waits for it without end. The call itself may still complete later; the error says so."""
        outcome: t.Dict[str, t.Any] = {}

        def run() -> None:
            try:
                outcome["value"] = fn(*args)
            except BaseException as err:  # handed to the caller's thread
                outcome["error"] = err

        worker = threading.Thread(target=run, name=action, daemon=True)
        worker.start()
        worker.join(seconds)
        if worker.is_alive():
            self.abandoned = True  # a call is still in flight: closing would wait for it
            raise WaitTimeout(
                f"{action}: no answer within {seconds:g} s (is the guest's QEMU stopped or hung?); the change may "
                "still happen once it answers - run the task again to see where it stands"
            )
        if "error" in outcome:
            raise translate(outcome["error"], action) from None
        return outcome.get("value")

    def close(self) -> None:
        """Close the connection (idempotent); left to the process exit while a bounded call is in flight."""
        if self.abandoned:
            # Closing waits for the call in flight, and so would the wrapper's finalizer whenever the garbage
            # collector runs it: detach the wrapper from the C connection, whose socket the process exit closes.
            if self.conn is not None:
                self.conn._o = None
                self.conn = None
            return
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None

    def __enter__(self) -> LibvirtClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lookup(self, action: str, fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        try:
            return fn(*args)
        except libvirt.libvirtError as err:
            if is_not_found(err):
                return None
            raise translate(err, action) from None

    # Lookups: None when the object does not exist, a typed error for anything else.
    def domain(self, name: str) -> t.Any:
        """The virDomain called ``name``, or None."""
        return self._lookup(f"look up domain {name!r}", self.conn.lookupByName, name)

    def domain_by_uuid(self, uuid: str) -> t.Any:
        return self._lookup(f"look up domain {uuid}", self.conn.lookupByUUIDString, uuid)

    def network(self, name: str) -> t.Any:
        """The virNetwork called ``name``, or None."""
        return self._lookup(f"look up network {name!r}", self.conn.networkLookupByName, name)

    def pool(self, name: str) -> t.Any:
        """The virStoragePool called ``name``, or None."""
        return self._lookup(f"look up storage pool {name!r}", self.conn.storagePoolLookupByName, name)

    def volume(self, pool: t.Any, name: str) -> t.Any:
        """The virStorageVol ``name`` in ``pool``, or None."""
        return self._lookup(f"look up volume {name!r} in pool {pool.name()!r}", pool.storageVolLookupByName, name)

    def snapshot(self, dom: t.Any, name: str) -> t.Any:
        """The virDomainSnapshot ``name`` of ``dom``, or None."""
        return self._lookup(f"look up snapshot {name!r} of {dom.name()!r}", dom.snapshotLookupByName, name, 0)

    def secret_by_uuid(self, uuid: str) -> t.Any:
        """The virSecret with ``uuid``, or None."""
        return self._lookup(f"look up secret {uuid}", self.conn.secretLookupByUUIDString, uuid)

    def secret_by_usage(self, usage_type: int, usage_id: str) -> t.Any:
        """The virSecret for a usage (VIR_SECRET_USAGE_TYPE_*, id), or None."""
        return self._lookup(f"look up secret for {usage_id!r}", self.conn.secretLookupByUsage, usage_type, usage_id)

    def call(self, action: str, fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """Run a libvirt call; a failure becomes a typed error about ``action``."""
        with libvirt_errors(action):
            return fn(*args)

    def host_uuid(self) -> str:
        """The hypervisor's host UUID: one per machine, whatever URI reaches it (read once per connection)."""
        if self._host_uuid is None:
            with libvirt_errors(f"read the capabilities of {self.uri}"):
                node = ET.fromstring(self.conn.getCapabilities()).find("host/uuid")
            self._host_uuid = "" if node is None or node.text is None else node.text
        return self._host_uuid

    def host_facts(self) -> t.Dict[str, t.Any]:
        """Facts about the hypervisor behind this connection."""
        with libvirt_errors(f"read host facts from {self.uri}"):
            info = self.conn.getInfo()
            caps = self.conn.getCapabilities()
            facts: t.Dict[str, t.Any] = {
                "uri": self.conn.getURI(),
                "hostname": self.conn.getHostname(),
                "hypervisor": self.conn.getType(),
                "hypervisor_version": _version(self.conn.getVersion()),
                "libvirt_version": _version(self.conn.getLibVersion()),
                "arch": info[0],
                "memory": info[1] * 1024 * 1024,
                "cpus": info[2],
                "free_memory": self.conn.getFreeMemory(),
                "capabilities_xml": caps,
                "networks": len(self.conn.listAllNetworks()),
                "storage_pools": len(self.conn.listAllStoragePools()),
            }
        return facts


def _version(number: int) -> str:
    """libvirt encodes versions as major * 1e6 + minor * 1e3 + micro."""
    if not number:
        return ""
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"
