from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils.host.daemons import command, plan_daemons

RUNNING = ["libvirtd", "-d", "-p", "/run/libvirtd.pid"]


def test_start_what_does_not_run_in_dependency_order() -> None:
    assert plan_daemons(["libvirtd", "virtlogd"], "started", False, {}) == [
        ("start", "virtlogd"),
        ("start", "libvirtd"),
    ]
    assert (
        plan_daemons(["libvirtd", "virtlogd"], "started", False, {"virtlogd": ["virtlogd"], "libvirtd": RUNNING}) == []
    )


def test_listen_restarts_a_libvirtd_that_does_not_listen() -> None:
    current = {"libvirtd": RUNNING}
    assert plan_daemons(["libvirtd"], "started", True, current) == [("restart", "libvirtd")]
    assert plan_daemons(["libvirtd"], "started", True, {"libvirtd": [*RUNNING, "--listen"]}) == []


def test_restarted_restarts_everything_named() -> None:
    current = {"virtlogd": ["virtlogd"], "libvirtd": RUNNING}
    assert plan_daemons(["libvirtd"], "restarted", False, current) == [("restart", "libvirtd")]


def test_command_lines() -> None:
    assert command("libvirtd", "/run/libvirt", True) == [
        "libvirtd",
        "-d",
        "-p",
        "/run/libvirt/libvirtd.pid",
        "--listen",
    ]
    assert command("virtlogd", "/run", True) == ["virtlogd", "-d", "-p", "/run/virtlogd.pid"]
