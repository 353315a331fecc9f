"""Scenario 4: ten clones of a 1 GiB and of a 4 GiB template - linked, full, and cp --sparse=always."""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import typing as t
import xml.etree.ElementTree as ET

import libvirt
from env import PREFIX, connect, playbook
from harness import OURS_VENV, WORK, Goal, Section, rotations, run

POOL = f"{PREFIX}clones"
SIZES = {"1 GiB": 1, "4 GiB": 4}


def template(directory: t.Any, name: str, gib: int) -> None:
    """A qcow2 template of ``gib`` GiB whose first quarter holds data (random: nothing compresses or dedups)."""
    raw = WORK / f"{name}.raw"
    with raw.open("wb") as handle:
        handle.truncate(gib * 2**30)
    subprocess.run(
        ["dd", "if=/dev/urandom", f"of={raw}", "bs=4M", f"count={gib * 64}", "conv=notrunc", "status=none"],
        check=True,
    )
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(directory / name)], check=True)
    raw.unlink()


def pool_xml(path: t.Any) -> str:
    root = ET.Element("pool", {"type": "dir"})
    ET.SubElement(root, "name").text = POOL
    ET.SubElement(ET.SubElement(root, "target"), "path").text = str(path)
    return ET.tostring(root, encoding="unicode")


def clones(directory: t.Any) -> t.List[t.Any]:
    return sorted(directory.glob("clone*"))


def scenario(reps: int, count: int = 10) -> Section:
    directory = WORK / "clones"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    conn = connect()
    with contextlib.suppress(libvirt.libvirtError):  # a pool an interrupted run left behind
        conn.storagePoolLookupByName(POOL).destroy()
    pool = conn.storagePoolCreateXML(pool_xml(directory), 0)
    section = Section(
        f"4. {count} clones of a 1 GiB and of a 4 GiB template",
        f"qcow2 templates whose first quarter is random data (256 MiB and 1 GiB), in a dir pool. Ours: a loop of "
        f"{count} `sharedvirt.kvm.volume` tasks with `clone_from` (`mode: linked` - a qcow2 overlay; `mode: full` - "
        f"libvirt's sparse-aware copy). cp: `cp --sparse=always` of the template file, {count} times, in one shell. "
        "The clones are deleted between runs (not timed).",
    )
    try:
        runners: t.Dict[str, t.Callable[[], t.Any]] = {}
        for size, gib in SIZES.items():
            name = f"template-{gib}g.qcow2"
            template(directory, name, gib)
            pool.refresh(0)
            for mode in ("linked", "full"):
                task = {
                    "sharedvirt.kvm.volume": {
                        "uri": "qemu:///system",
                        "pool": POOL,
                        "name": f"clone{{{{ item }}}}-{mode}.qcow2",
                        "clone_from": {"name": name, "mode": mode},
                    },
                    "loop": list(range(count)),
                }
                runners[f"ours, {mode} clone, {size}"] = playbook(OURS_VENV, f"s4-{mode}-{gib}g", [task])
            copies = " && ".join(
                f"cp --sparse=always {directory / name} {directory}/clone{i}-cp.qcow2" for i in range(count)
            )
            runners[f"cp --sparse=always, {size}"] = functools.partial(run, ["sh", "-c", copies])
        for _rep, label in rotations(list(runners), reps):
            section.measure(label, runners[label])
            made = clones(directory)
            if len(made) != count:
                raise RuntimeError(f"{label} left {len(made)} clones, expected {count}")
            for path in made:
                path.unlink()
            pool.refresh(0)
    finally:
        pool.destroy()
        conn.close()
        shutil.rmtree(directory, ignore_errors=True)
    section.goals = [
        Goal(
            "linked clone time independent of template size (4 GiB within 1.2× of 1 GiB)",
            "ours, linked clone, 4 GiB",
            "ours, linked clone, 1 GiB",
            1.2,
            within=True,
        ),
        Goal(
            "full copy within 1.5× of cp (1 GiB)",
            "ours, full clone, 1 GiB",
            "cp --sparse=always, 1 GiB",
            1.5,
            within=True,
        ),
        Goal(
            "full copy within 1.5× of cp (4 GiB)",
            "ours, full clone, 4 GiB",
            "cp --sparse=always, 4 GiB",
            1.5,
            within=True,
        ),
    ]
    return section
