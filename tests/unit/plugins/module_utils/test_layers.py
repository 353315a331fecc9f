"""The one-way layers of module_utils, checked by reading every file's imports.

Pure files (``model.py``, ``plan.py``, ``*_model.py``, ``*_plan.py``, ``resolve.py``, ``persist.py`` and
the pure part of ``_core``) import neither libvirt, pyroute2 nor Ansible, nor any file that does I/O.
Clients never import Ansible. No package imports another package's Ansible glue, except the converge
package, whose steps are the other modules' run functions (and which no other package imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODULE_UTILS = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
IO_LIBRARIES = ("libvirt", "libvirt_qemu", "pyroute2", "ansible")
# Files of _core that do I/O or glue; every other _core file is pure.
CORE_IMPURE = {"client", "module"}
# Packages whose glue runs other packages' glue (one module run of many modules' steps).
COMPOSERS = {"converge"}
# persist.py renders the bridge files that plan.py writes; resolve.py is the address chain.
PURE_STEMS = {"model", "plan", "resolve", "persist"}


def is_pure(path: Path) -> bool:
    stem, package = path.stem, path.parent.name
    if package == "_core":
        return stem not in CORE_IMPURE
    return stem in PURE_STEMS or stem.endswith(("_model", "_plan")) or stem == "__init__"


def is_glue(path: Path) -> bool:
    return path.stem == "module" or path.stem.endswith("_module")


def imports_of(path: Path) -> list[tuple[str, Path | None]]:
    """(name as written, the module_utils file it resolves to or None) for every import in ``path``."""
    found: list[tuple[str, Path | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.module or "", None))
                continue
            base = path.parents[node.level - 1]
            targets = [node.module] if node.module else [alias.name for alias in node.names]
            for target in targets:
                file = base.joinpath(*target.split(".")).with_suffix(".py")
                found.append(("." * node.level + target, file if file.exists() else None))
    return found


FILES = sorted(MODULE_UTILS.rglob("*.py"))


def test_every_file_is_in_a_package() -> None:
    loose = [f.name for f in FILES if f.parent == MODULE_UTILS]
    assert loose == [], "module_utils files belong in a resource package or _core"


@pytest.mark.parametrize("path", [f for f in FILES if is_pure(f)], ids=lambda f: str(f.relative_to(MODULE_UTILS)))
def test_pure_files_import_no_io(path: Path) -> None:
    for name, file in imports_of(path):
        assert name.split(".")[0] not in IO_LIBRARIES, f"{name} imported by a pure file"
        if file is not None:
            assert is_pure(file), f"{name} ({file.relative_to(MODULE_UTILS)}) does I/O"


@pytest.mark.parametrize("path", [f for f in FILES if not is_glue(f)], ids=lambda f: str(f.relative_to(MODULE_UTILS)))
def test_only_glue_imports_ansible(path: Path) -> None:
    for name, file in imports_of(path):
        assert name.split(".")[0] != "ansible", f"{name} imported outside the Ansible glue"
        if file is not None:
            assert not is_glue(file), f"{name} is Ansible glue"


@pytest.mark.parametrize("path", [f for f in FILES if is_glue(f)], ids=lambda f: str(f.relative_to(MODULE_UTILS)))
def test_glue_stays_in_its_package(path: Path) -> None:
    for name, file in imports_of(path):
        if file is None:
            continue
        assert file.parent.name not in COMPOSERS or file.parent == path.parent, f"{name}: a composer's glue"
        if is_glue(file) and file.parent.name != "_core" and path.parent.name not in COMPOSERS:
            assert file.parent == path.parent, f"{name}: another package's glue"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """Negative control: a plan file importing a client is caught."""
    package = tmp_path / "demo"
    package.mkdir()
    (package / "client.py").write_text("import libvirt\n")
    plan = package / "plan.py"
    plan.write_text("from .client import x\nimport libvirt\n")
    found = imports_of(plan)
    assert ("libvirt", None) in found
    assert any(file is not None and not is_pure(file) for _name, file in found)


@pytest.mark.parametrize("path", FILES, ids=lambda f: str(f.relative_to(MODULE_UTILS)))
def test_files_stay_small(path: Path) -> None:
    """A file past 450 lines holds more than one idea: split it by concern (see CONTRIBUTING.md)."""
    assert len(path.read_text().splitlines()) < 450


@pytest.mark.parametrize("path", FILES, ids=lambda f: str(f.relative_to(MODULE_UTILS)))
def test_the_first_line_says_what_the_file_is(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith('"""') and len(first) > 10
