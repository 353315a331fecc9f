"""Scenario 4: ten clones of a 1 GiB and of a 4 GiB template - linked, full, and cp --sparse=always; ten copies of
the 1 GiB template into another format - ours and qemu-img convert."""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import typing as t
import xml.etree.ElementTree as ET

import libvirt
from env import PREFIX, connect, playbook
from harness import OURS_VENV, WORK, Goal, Section, rest_disk, rotations, run

POOL = f"{PREFIX}clones"
MODES = {"linked": "linked clone", "full": "full clone", "raw": "full clone to raw"}
COSTS = {"full": "full clone's copy cost", "raw": "copy cost into raw"}
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


def clone_task(template_name: str, mode: str, count: int) -> t.Dict[str, t.Any]:
    """``count`` clones of the template: linked, full (same format) or full into raw."""
    options: t.Dict[str, t.Any] = {
        "clone_from": {"name": template_name, "mode": "linked" if mode == "linked" else "full"}
    }
    suffix = "qcow2"
    if mode == "raw":
        options["format"], suffix = "raw", "raw"
    name = f"clone{{{{ item }}}}-{mode}.{suffix}"
    return {
        "sharedvirt.kvm.volume": {"uri": "qemu:///system", "pool": POOL, "name": name, **options},
        "loop": list(range(count)),
    }


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
        "within one pool and format a copy of the file's data with direct I/O, its holes kept; `format: raw` - "
        "libvirt's conversion). "
        f"cp: `cp --sparse=always` of the template file, {count} times, in one shell (and with `sync` of each copy, "
        "as ours syncs its copy before it becomes the volume); qemu-img: `qemu-img convert "
        f"-O raw`, {count} times. The clones are deleted between runs, and each run starts from a rested disk: synced "
        "and less than 1 MiB written for 2 s (not timed). "
        "A copy's cost is the full-clone "
        "loop less the linked-clone loop of the same run (the same tasks, modules and libvirt calls, without the "
        "copy); it is what compares with cp and qemu-img, which pay no per-task cost.",
    )
    try:
        runners: t.Dict[str, t.Callable[[], t.Any]] = {}
        for size, gib in SIZES.items():
            name = f"template-{gib}g.qcow2"
            template(directory, name, gib)
            pool.refresh(0)
            formats = ("linked", "full", "raw") if gib == 1 else ("linked", "full")
            for mode in formats:
                runners[f"ours, {MODES[mode]}, {size}"] = playbook(
                    OURS_VENV, f"s4-{mode}-{gib}g", [clone_task(name, mode, count)]
                )
            copies = " && ".join(
                f"cp --sparse=always {directory / name} {directory}/clone{i}-cp.qcow2" for i in range(count)
            )
            runners[f"cp --sparse=always, {size}"] = functools.partial(run, ["sh", "-c", copies])
            synced = " && ".join(
                f"cp --sparse=always {directory / name} {directory}/clone{i}-cps.qcow2 && "
                f"sync {directory}/clone{i}-cps.qcow2"
                for i in range(count)
            )
            runners[f"cp --sparse=always + sync, {size}"] = functools.partial(run, ["sh", "-c", synced])
            if gib == 1:
                converts = " && ".join(
                    f"qemu-img convert -O raw {directory / name} {directory}/clone{i}-qi.raw" for i in range(count)
                )
                runners[f"qemu-img convert -O raw, {size}"] = functools.partial(run, ["sh", "-c", converts])
        for _rep, label in rotations(list(runners), reps):
            # Untimed: no alternative pays for writing back what the one before left in the page cache (cp and
            # qemu-img do not sync; a synced copy would wait for their data too), nor for the disk catching up.
            rest_disk(directory)
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
    for size, gib in SIZES.items():
        for mode in ("full", "raw") if gib == 1 else ("full",):
            copied, linked = (
                section.rows[f"ours, {MODES[mode]}, {size}"],
                section.rows[f"ours, {MODES['linked']}, {size}"],
            )
            for full_time, linked_time in zip(copied.times, linked.times):
                section.record(f"ours, {COSTS[mode]}, {size}", max(full_time - linked_time, 0.001))
    section.goals = [
        Goal(
            "linked clone time independent of template size (4 GiB within 1.2× of 1 GiB)",
            "ours, linked clone, 4 GiB",
            "ours, linked clone, 1 GiB",
            1.2,
            within=True,
        ),
        *(
            Goal(
                f"full copy within 1.5× of cp ({size})",
                f"ours, {COSTS['full']}, {size}",
                f"cp --sparse=always, {size}",
                1.5,
                within=True,
            )
            for size in SIZES
        ),
        *(
            Goal(
                f"full copy within 1.5× of cp + sync, the same durability ({size})",
                f"ours, {COSTS['full']}, {size}",
                f"cp --sparse=always + sync, {size}",
                1.5,
                within=True,
            )
            for size in SIZES
        ),
        *(
            Goal(
                f"full clone loop against cp, per-task cost included ({size})",
                f"ours, {MODES['full']}, {size}",
                f"cp --sparse=always, {size}",
                0,
                within=True,
                reported=True,
            )
            for size in SIZES
        ),
        Goal(
            "copy into another format within 1.3× of qemu-img convert (1 GiB)",
            f"ours, {COSTS['raw']}, 1 GiB",
            "qemu-img convert -O raw, 1 GiB",
            1.3,
            within=True,
        ),
    ]
    return section
