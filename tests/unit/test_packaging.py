"""bindep.txt and execution-environment.yml say what the hypervisor role and the test platform install."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def bindep_rules() -> list[tuple[str, set[str], set[str]]]:
    """(package, platforms, profiles) for each line of bindep.txt."""
    rules = []
    for line in (ROOT / "bindep.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _bracket, tags = line.partition("[")
        words = tags.rstrip("]").split()
        platforms = {w.removeprefix("platform:") for w in words if w.startswith("platform:")}
        rules.append((name.strip(), platforms, {w for w in words if not w.startswith("platform:")}))
    return rules


def selected(platform: str, profiles: set[str]) -> set[str]:
    """What bindep installs on ``platform`` for ``profiles`` (a rule without profiles is always in)."""
    return {
        name
        for name, platforms, tags in bindep_rules()
        if (not platforms or platform in platforms) and (not tags or tags & profiles)
    }


def role_packages(family: str) -> set[str]:
    return set(yaml.safe_load((ROOT / "roles/hypervisor/vars" / f"{family}.yml").read_text())["hypervisor_packages"])


def test_bindep_hypervisor_profile_is_what_the_hypervisor_role_installs() -> None:
    for platform, family in (("dpkg", "Debian"), ("rpm", "RedHat")):
        hypervisor = selected(platform, {"hypervisor"})
        controller = selected(platform, set())
        assert hypervisor - controller == role_packages(family) - controller
        assert role_packages(family) <= hypervisor


def test_every_debian_package_of_bindep_is_on_the_test_platform() -> None:
    platform = {line.strip() for line in (ROOT / "tools/debian-packages.txt").read_text().splitlines()}
    assert selected("dpkg", {"hypervisor", "compile"}) <= platform


def test_execution_environment_uses_bindep_and_the_python_requirements() -> None:
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert (deps["system"], deps["python"]) == ("bindep.txt", "requirements.txt")
    assert [c["name"] for c in deps["galaxy"]["collections"]] == ["sharedvirt.kvm"]
    assert (ROOT / deps["python"]).read_text().count("libvirt-python") == 1


def test_every_venv_setup_makes_is_ignored_by_git() -> None:
    """Builds and sanity copy every file git does not ignore: a venv missing from .gitignore would be copied into
    the collection under test (thousands of files sanity then checks)."""
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines()}
    made = set(re.findall(r"(?<![\w/])(\.venv[\w-]*)", (ROOT / "tools/setup.sh").read_text()))
    assert made >= {".venv", ".venv-sanity", ".venv-galaxy", ".venv-docs"}
    assert made <= ignored, f"add {sorted(made - ignored)} to .gitignore"
