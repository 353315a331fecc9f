"""Every step a planner emits has a handler in its package's executor (read from the source)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

MODULE_UTILS = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
# shared_disk plans are carried out by the domain and volume executors.
EXECUTED_BY = {"shared_disk": ("domain", "storage")}


def planned_ops(package: Path) -> set[str]:
    ops: set[str] = set()
    for plan in package.glob("*plan.py"):
        ops |= set(re.findall(r'Step\(\s*"(\w+)"', plan.read_text()))
    return ops


def handlers(package: Path) -> set[str]:
    found: set[str] = set()
    for client in package.glob("*client.py"):
        for node in ast.walk(ast.parse(client.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("_step_"):
                found.add(node.name.removeprefix("_step_"))
    return found


PACKAGES = sorted(p.parent for p in MODULE_UTILS.glob("*/plan.py") if planned_ops(p.parent))


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_every_planned_step_has_a_handler(package: Path) -> None:
    executors = EXECUTED_BY.get(package.name, (package.name,))
    handled = set().union(*(handlers(MODULE_UTILS / name) for name in executors))
    assert planned_ops(package) - handled == set()


def test_the_check_sees_a_missing_handler(tmp_path: Path) -> None:
    (tmp_path / "plan.py").write_text('Step("fly", {})\n')
    (tmp_path / "client.py").write_text("class X:\n    def _step_walk(self, plan, step): ...\n")
    assert planned_ops(tmp_path) - handlers(tmp_path) == {"fly"}


def test_a_failed_step_carries_what_was_done_before_it() -> None:
    from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import ConflictError
    from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.executor import Executor
    from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.plan import Plan, Step

    class Flaky(Executor):
        def _step_ok(self, plan: Plan, step: Step) -> None:
            pass

        def _step_boom(self, plan: Plan, step: Step) -> None:
            raise ConflictError("the guest did not answer")

    plan = Plan("domain", "vm1")
    plan.add("define domain vm1", step=Step("ok"))
    plan.add("attach disk vdb", step=Step("boom"))
    earlier = ["create volume p/q.raw"]
    with pytest.raises(ConflictError) as err:
        Flaky().apply(plan, earlier)
    assert err.value.completed == ["create volume p/q.raw", "define domain vm1"]
