"""Role READMEs: every role has one, and its variable tables say what meta/argument_specs.yml says."""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def role_docs() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("role_docs", ROOT / "tools" / "role_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_role_has_a_readme_whose_variables_match_its_argument_specs() -> None:
    tool = role_docs()
    roles = sorted(p.parents[1] for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
    assert [r.name for r in roles] == ["hypervisor", "shared_storage", "storage_appliance", "vm_cluster"]
    for role in roles:
        readme = (role / "README.md").read_text()
        specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
        assert tool.rendered(readme, specs) == readme, f"{role.name}: run tools/role_docs.py"
        for entry, spec in specs["argument_specs"].items():
            assert f"### Entry point `{entry}`" in readme
            assert all(f"| `{name}` |" in readme for name in spec.get("options", {}))


def test_doc_markup_reads_as_markdown() -> None:
    tool = role_docs()
    text = (
        "M(sharedvirt.kvm.domain) O(sharedvirt.kvm.domain#module:lease) V(soft) C(x|y) P(sharedvirt.kvm.vm_ip#lookup)"
    )
    expected = "`sharedvirt.kvm.domain` `lease` `soft` `x|y` `sharedvirt.kvm.vm_ip`"
    assert tool.plain(text) == expected
    option = {"type": "list", "elements": "str", "default": ["a", "b"], "choices": ["a", "b"], "description": "x"}
    assert tool.tables({"argument_specs": {"main": {"options": {"v": option}}}}).splitlines()[-1] == (
        "| `v` | list of str | `[a, b]` | x One of `a`, `b`. |"
    )
