"""The multi-host test bed from the shell: namespace hypervisors reachable over SSH and qemu+tcp.

  tools/hostbed.py up [--hosts N] [--name NAME]   start N hosts (default 2); prints the inventory path
  tools/hostbed.py down [--name NAME]             stop them and remove everything they made
  tools/hostbed.py status [--name NAME]           the hosts, their URIs and whether libvirtd answers
  tools/hostbed.py inventory [--name NAME]        prints the inventory path; a bed that is down has one too

The inventory (YAML) is written to /var/tmp/sharedvirt-kvm/hostbed/NAME.inventory.yml, group
``hypervisors``; molecule scenarios and ``make demo MULTIHOST=1`` use it. While the bed is down the file
lists no hosts, so a playbook given it before the bed is up parses it without a warning.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from testbed import services  # noqa: E402
from testbed.hosts import BED_ROOT, HostBed  # noqa: E402

DEFAULT_NAME = "svkvm-bed"


def paths(name: str) -> tuple[Path, Path]:
    return BED_ROOT / f"{name}.state.json", BED_ROOT / f"{name}.inventory.yml"


def up(name: str, count: int) -> Path:
    state, inventory = paths(name)
    if state.exists():
        bed = HostBed.from_state(json.loads(state.read_text()))
        if len(bed.hosts) == count and all(host.answers() for host in bed.hosts):
            print(f"hostbed: {name} already up ({count} hosts)")
            return inventory
        print(f"hostbed: {name} has {len(bed.hosts)} hosts (or one does not answer); building it anew with {count}")
        bed.down()
    services.ensure()  # the hosts copy the root libvirt configuration and need its daemons' binaries
    bed = HostBed(name, count, BED_ROOT / name)
    BED_ROOT.mkdir(parents=True, exist_ok=True)
    try:
        bed.up()
    except BaseException:
        bed.down()
        raise
    bed.save(state)
    write_inventory(inventory, bed.inventory())
    for host in bed.hosts:
        print(f"hostbed: {host.name} {host.address} {host.uri}")
    print(f"hostbed: inventory {inventory}")
    return inventory


def down(name: str) -> None:
    state, inventory = paths(name)
    if not state.exists():
        print(f"hostbed: {name} is not up")
        return
    HostBed.from_state(json.loads(state.read_text())).down()
    state.unlink()
    write_inventory(inventory, {})
    print(f"hostbed: {name} removed")


def write_inventory(path: Path, groups: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"all": {"children": groups}}, sort_keys=False))


def inventory_of(name: str) -> Path:
    state, inventory = paths(name)
    if not state.exists() and not inventory.exists():
        write_inventory(inventory, {})
    print(inventory)
    return inventory


def status(name: str) -> int:
    state, inventory = paths(name)
    if not state.exists():
        print(f"hostbed: {name} is not up")
        return 1
    bed = HostBed.from_state(json.loads(state.read_text()))
    for host in bed.hosts:
        print(f"hostbed: {host.name} {host.uri} {'answers' if host.answers() else 'DOWN'}")
    print(f"hostbed: inventory {inventory}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down", "status", "inventory"])
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--name", default=DEFAULT_NAME)
    args = parser.parse_args()
    if args.action == "up":
        up(args.name, args.hosts)
    elif args.action == "down":
        down(args.name)
    elif args.action == "inventory":
        inventory_of(args.name)
    else:
        return status(args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
