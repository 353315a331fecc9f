"""Volume content in and out through libvirt streams: verified uploads swapped in whole, private downloads (I/O)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
import typing as t

from .._core.client import LibvirtClient, libvirt_errors
from .._core.errors import ConflictError
from .._core.xmlutil import parse_xml, to_string
from ..host.model import uri_is_local
from .import_plan import convert_command

FILE_POOLS = ("dir", "fs", "netfs")


def upload_name(name: str) -> str:
    """Where an upload of volume ``name`` lands first (one name per volume: a killed run's is found again)."""
    return f".{name}.upload"


def upload_verified(client: LibvirtClient, pool: t.Any, name: str, args: t.Mapping[str, t.Any]) -> None:
    """Upload ``args['src']`` into a temporary volume, check its SHA-256 read back through libvirt, then make it
    the volume ``name`` (replacing the old one only when ``args['replace']``). A failure leaves the volume as
    it was; a killed run leaves only the temporary volume, which the next upload removes."""
    temp = upload_name(name)
    action = f"upload {args['src']} into volume {pool.name()}/{name}"
    _remove(client, pool, temp)
    xml = parse_xml(args["xml"], "volume XML")
    xml.find("name").text = temp  # type: ignore[union-attr]
    vol = client.call(action, pool.createXML, to_string(xml), 0)
    try:
        client.storage(pool.name(), action, _send, client, vol, args["src"], action)
        got = client.storage(pool.name(), f"read back {pool.name()}/{temp}", download, client, vol, temp, None)
        if got != args["sha256"]:
            raise ConflictError(
                f"{action}: the uploaded content has SHA-256 {got}, not {args['sha256']}; nothing was replaced"
            )
        _swap_in(client, pool, vol, name, args, action)
    except BaseException:
        with contextlib.suppress(Exception):
            _remove(client, pool, temp)
        raise


def _swap_in(
    client: LibvirtClient, pool: t.Any, temp: t.Any, name: str, args: t.Mapping[str, t.Any], action: str
) -> None:
    # libvirtd rescans the pool on its own after an upload; scan it now, so the name list does not change between
    # the look-up below and the copy (another hypervisor sharing the pool may have written the name meanwhile).
    client.call(f"refresh pool {pool.name()!r}", pool.refresh, 0)
    old = client.volume(pool, name)
    if old is not None and not args.get("replace"):
        raise ConflictError(f"{action}: volume {name} appeared meanwhile; run again to compare it")
    pool_type = parse_xml(pool.XMLDesc(0), "pool XML").get("type")
    if pool_type in FILE_POOLS and uri_is_local(client.uri):
        # One rename: a reader sees the old image or the new one, never a half of either.
        path = temp.path()
        final = os.path.join(os.path.dirname(path), name)
        os.replace(path, final)
        client.call(f"refresh pool {pool.name()!r}", pool.refresh, 0)
        return
    if old is not None:
        client.call(f"{action}: remove the old content", old.delete, 0)
    client.call(f"{action}: copy the checked content in", pool.createXMLFrom, args["xml"], temp, 0)
    client.call(f"{action}: remove the temporary volume", temp.delete, 0)


def _send(client: LibvirtClient, vol: t.Any, src: str, action: str) -> None:
    size = os.path.getsize(src)
    stream = client.conn.newStream(0)
    with open(src, "rb") as handle, libvirt_errors(action):
        vol.upload(stream, 0, size, 0)
        stream.sendAll(lambda _stream, nbytes, fh: fh.read(nbytes), handle)
        stream.finish()


def _remove(client: LibvirtClient, pool: t.Any, name: str) -> None:
    vol = client.volume(pool, name)
    if vol is not None:
        client.call(f"remove the unfinished upload {pool.name()}/{name}", vol.delete, 0)


def download(client: LibvirtClient, vol: t.Any, label: str, dest: t.Optional[str], mode: int = 0o600) -> str:
    """SHA-256 of the volume's content; written to ``dest`` as well when it is given, readable by ``mode`` only."""
    if not dest:
        return _receive(client, vol, label, lambda data: None)
    part = dest + ".part"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part)
    with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as out:
        digest = _receive(client, vol, label, out.write)
    os.chmod(part, mode)  # the umask may have narrowed it; never widened
    os.replace(part, dest)
    return digest


def read_content(client: LibvirtClient, vol: t.Any, label: str) -> bytes:
    """The content of a small volume (a record, a note), in memory."""
    chunks: t.List[bytes] = []
    _receive(client, vol, label, chunks.append)
    return b"".join(chunks)


def _receive(client: LibvirtClient, vol: t.Any, label: str, keep: t.Callable[[bytes], t.Any]) -> str:
    """Stream the volume's content to ``keep``; its SHA-256."""
    digest = hashlib.sha256()
    stream = client.conn.newStream(0)
    with libvirt_errors(f"download volume {label}"):
        vol.download(stream, 0, 0, 0)

        def sink(_stream: t.Any, data: bytes, _opaque: t.Any) -> int:
            digest.update(data)
            keep(data)
            return len(data)

        stream.recvAll(sink, None)
        stream.finish()
    return digest.hexdigest()


def convert_image(src: str, source_format: str, target_format: str, scratch: contextlib.ExitStack) -> str:
    """``src`` converted to ``target_format`` in a scratch file that ``scratch`` removes at its end."""
    handle, dest = tempfile.mkstemp(prefix=".sharedvirt-import-", suffix=f".{target_format}", dir="/var/tmp")
    os.close(handle)
    scratch.callback(_remove_file, dest)
    done = subprocess.run(
        convert_command(src, source_format, target_format, dest), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ConflictError(f"converting {src} from {source_format} to {target_format} failed: {done.stderr.strip()}")
    return dest


def _remove_file(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
