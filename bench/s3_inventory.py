"""Scenario 3: inventory of 200 defined domains on two hypervisors, ours vs community.libvirt's."""

from __future__ import annotations

import contextlib
import json
import shutil
import typing as t
import xml.etree.ElementTree as ET
from pathlib import Path

from env import PREFIX, ansible_env
from harness import CL_VENV, OURS_VENV, WORK, Goal, Section, rotations, run
from testbed.hosts import HostBed

COLD = "ours: ansible-inventory, cold"
CACHED = "ours: ansible-inventory, cached"
CACHED_PARSE = "ours: cached parse inside Ansible (plugin cost)"
COLD_PARSE = "ours: cold parse inside Ansible (plugin cost)"
CL = "community.libvirt: ansible-inventory, one source per URI"
CL_PARSE = "community.libvirt: parse inside Ansible (plugin cost)"
LARGE = "ours: cold parse of 1000 domains on 4 hypervisors (plugin cost)"


def define_domains(conn: t.Any, host_index: int, count: int) -> None:
    for i in range(count):
        root = ET.Element("domain", {"type": "qemu"})
        ET.SubElement(root, "name").text = f"{PREFIX}i{host_index}-{i:03d}"
        ET.SubElement(root, "memory", {"unit": "MiB"}).text = "64"
        ET.SubElement(ET.SubElement(root, "os"), "type", {"arch": "x86_64"}).text = "hvm"
        conn.defineXML(ET.tostring(root, encoding="unicode"))


def source(path: Path, config: t.Mapping[str, t.Any]) -> Path:
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def listing(venv: Path, sources: t.Sequence[Path], expected: int) -> t.Callable[[], None]:
    cmd = [str(venv / "bin" / "ansible-inventory")]
    for item in sources:
        cmd += ["-i", str(item)]
    cmd.append("--list")
    env = ansible_env(venv)

    def go() -> None:
        hosts = json.loads(run(cmd, env))["_meta"]["hostvars"]
        if len(hosts) != expected:
            raise RuntimeError(f"{cmd[0]} listed {len(hosts)} hosts, expected {expected}")

    return go


def in_process(venv: Path, paths: t.Sequence[Path], expected: int, profile: bool = False) -> t.Callable[[], t.Any]:
    """A run of inventory_inproc.py; returns its answer: the parse time it measured inside its Python under
    ``seconds``, and with ``profile`` where the time went."""
    script = Path(__file__).with_name("inventory_inproc.py")
    env = ansible_env(venv)
    cmd = [str(venv / "bin" / "python"), str(script), *(["--profile"] if profile else []), *map(str, paths)]

    def go() -> t.Any:
        out = json.loads(run(cmd, env))
        if out["hosts"] != expected:
            raise RuntimeError(f"in-process parse found {out['hosts']} hosts, expected {expected}")
        return out

    return go


def profile_note(answer: t.Mapping[str, t.Any], total: int, hosts: int) -> str:
    parts = "; ".join(f"{label} {seconds * 1000:.0f} ms ({calls}×)" for label, seconds, calls in answer["profile"])
    return (
        f"Where a cold parse of {total} domains on {hosts} hypervisors spends its time (cProfile, one run, "
        f"{answer['seconds'] * 1000:.0f} ms under the profiler; parts nest): {parts}."
    )


@contextlib.contextmanager
def bed_with_domains(prefix: str, hosts: int, per_host: int) -> t.Iterator[HostBed]:
    with HostBed(prefix, hosts) as bed:
        for index, host in enumerate(bed.hosts):
            conn = host.open()
            define_domains(conn, index, per_host)
            conn.close()
        yield bed


def scenario(reps: int, per_host: int = 100) -> Section:
    total = 2 * per_host
    section = Section(
        f"3. Inventory of {total} defined domains on 2 hypervisors",
        f"Two namespace hypervisors (libvirtd over TCP, tools/hostbed.py) with {per_host} defined domains each. "
        "`ansible-inventory --list` as a user runs it: ours with both URIs in one source, community.libvirt's "
        "plugin with one source per URI (it takes one URI). Cold: no cache; cached: the jsonfile cache filled "
        "by an earlier run. The in-process rows time only the inventory parse inside a Python that has loaded "
        "Ansible and parsed a trivial inventory already (Ansible's own first use - its builtin routing table - is "
        "paid by every ansible-inventory run whatever the plugin), so they are the plugin's own cost.",
    )
    work = WORK / "inventory"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with bed_with_domains("svb-inv", 2, per_host) as bed:
        uris = [host.uri for host in bed.hosts]
        ours = source(work / "ours.libvirt.yml", {"plugin": "sharedvirt.kvm.libvirt", "uri": uris})
        cache = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_timeout": 3600}
        cached = source(
            work / "cached.libvirt.yml",
            {"plugin": "sharedvirt.kvm.libvirt", "uri": uris, **cache, "cache_connection": str(work / "cache")},
        )
        theirs = [
            source(work / f"cl{i}.libvirt.yml", {"plugin": "community.libvirt.libvirt", "uri": uri})
            for i, uri in enumerate(uris)
        ]
        processes = {
            COLD: listing(OURS_VENV, [ours], total),
            CACHED: listing(OURS_VENV, [cached], total),
            CL: listing(CL_VENV, theirs, total),
        }
        parses = {
            CACHED_PARSE: in_process(OURS_VENV, [cached], total),
            COLD_PARSE: in_process(OURS_VENV, [ours], total),
            CL_PARSE: in_process(CL_VENV, theirs, total),
        }
        processes[CACHED]()  # fills the cache
        for _rep, label in rotations([*processes, *parses], reps):
            if label in parses:
                section.record(label, float(parses[label]()["seconds"]))
            else:
                section.measure(label, processes[label])
        section.notes.append(profile_note(in_process(OURS_VENV, [ours], total, profile=True)(), total, 2))
    large = measure_large(section, reps, work)
    for label, count in ((COLD_PARSE, total), (LARGE, large)):
        section.series(f"{label}, per domain").times = [x / count for x in section.rows[label].times]
    section.goals = [
        Goal("cold: ≥ 2× faster than community.libvirt (whole process)", COLD, CL, 2),
        Goal("cold: ≥ 2× faster than community.libvirt (plugin cost)", COLD_PARSE, CL_PARSE, 2),
        Goal(f"cold: plugin cost for {total} domains ≤ 0.15 s", COLD_PARSE, "", 0.15),
        Goal(
            f"cold: plugin cost per domain flat ({large} on 4 hypervisors within 1.3× of {total} on 2)",
            f"{LARGE}, per domain",
            f"{COLD_PARSE}, per domain",
            1.3,
            within=True,
        ),
        Goal("cached run under 0.5 s (plugin cost inside Ansible)", CACHED_PARSE, "", 0.5),
        Goal("cached run under 0.5 s (whole ansible-inventory process)", CACHED, "", 0.5),
    ]
    return section


def measure_large(section: Section, reps: int, work: Path, hosts: int = 4, per_host: int = 250) -> int:
    """The cold plugin cost for ``hosts`` × ``per_host`` domains, and its profile; returns the domain count."""
    total = hosts * per_host
    with bed_with_domains("svb-inv4", hosts, per_host) as bed:
        config = {"plugin": "sharedvirt.kvm.libvirt", "uri": [host.uri for host in bed.hosts]}
        ours = source(work / "large.libvirt.yml", config)
        parse = in_process(OURS_VENV, [ours], total)
        for _rep in range(reps):
            section.record(LARGE, float(parse()["seconds"]))
        section.notes.append(profile_note(in_process(OURS_VENV, [ours], total, profile=True)(), total, hosts))
    return total
