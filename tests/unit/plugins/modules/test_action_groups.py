"""Every module that documents membership of an action group is listed in meta/runtime.yml, and back."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[4]
FRAGMENT = "sharedvirt.kvm.attributes.actiongroup_libvirt"


def module_documentation(path: Path) -> str:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(n, "id", "") for n in node.targets] == ["DOCUMENTATION"]:
            return str(ast.literal_eval(node.value))
    raise AssertionError(f"{path.name} has no DOCUMENTATION")


def documented_members() -> set[str]:
    members = set()
    for path in (ROOT / "plugins" / "modules").glob("*.py"):
        docs = yaml.safe_load(module_documentation(path))
        if FRAGMENT in docs.get("extends_documentation_fragment", []):
            members.add(path.stem)
    return members


def runtime_members() -> set[str]:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    return set(runtime["action_groups"]["libvirt"])


def test_runtime_lists_exactly_the_documented_members() -> None:
    documented, listed = documented_members(), runtime_members()
    assert documented - listed == set(), "documented as group members but missing from meta/runtime.yml"
    assert listed - documented == set(), "in meta/runtime.yml but not documented as group members"


def test_every_connection_module_is_in_the_group() -> None:
    """A module with the uri option that is outside the group would ignore module_defaults' uri."""
    with_uri = {
        p.stem
        for p in (ROOT / "plugins" / "modules").glob("*.py")
        if "  - sharedvirt.kvm.connection\n" in p.read_text()
    }
    assert with_uri - runtime_members() == set()
