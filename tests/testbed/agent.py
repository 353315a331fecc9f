"""Talking to the embedded guest's QEMU guest agent (qemu-ga): reads and commands inside a running guest."""

from __future__ import annotations

import base64
import json
import time
import typing as t

import libvirt
import libvirt_qemu


def agent(dom: t.Any, command: dict[str, t.Any], timeout: int = 10) -> t.Any:
    """The agent's answer to ``command``, or None while it does not answer."""
    try:
        return json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(command), timeout, 0))["return"]
    except libvirt.libvirtError:
        return None


def guest_read(dom: t.Any, path: str) -> str | None:
    """A file's content in the guest, through the agent's guest-file-* commands."""
    handle = agent(dom, {"execute": "guest-file-open", "arguments": {"path": path}})
    if handle is None:
        return None
    data = agent(dom, {"execute": "guest-file-read", "arguments": {"handle": handle}})
    agent(dom, {"execute": "guest-file-close", "arguments": {"handle": handle}})
    return None if data is None else base64.b64decode(data["buf-b64"]).decode().strip()


def guest_sh(dom: t.Any, script: str, timeout: float = 30) -> tuple[int, str]:
    """Run ``script`` with the guest's /bin/sh (guest-exec); its exit code and standard output."""
    started = agent(
        dom, {"execute": "guest-exec", "arguments": {"path": "/bin/sh", "arg": ["-c", script], "capture-output": True}}
    )
    if started is None:
        raise AssertionError(f"the guest agent of {dom.name()} did not start {script!r}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = agent(dom, {"execute": "guest-exec-status", "arguments": {"pid": started["pid"]}})
        if status and status.get("exited"):
            return int(status.get("exitcode", -1)), base64.b64decode(status.get("out-data", "")).decode(
                errors="replace"
            )
        time.sleep(0.2)
    raise AssertionError(f"{script!r} did not finish in {dom.name()} within {timeout:g} s")
