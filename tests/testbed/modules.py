"""Run a module's main() in this process, as Ansible would, and return its JSON result.

In-process runs keep libvirt's test:///default state alive between module calls (the test
driver's state lives as long as one connection to it is open), which separate processes cannot.
"""

from __future__ import annotations

import contextlib
import io
import json
import types
import typing as t

from ansible.module_utils import _internal
from ansible.module_utils.common import warnings as _warnings
from ansible.module_utils.testing import patch_module_args


def run_module(
    module: types.ModuleType, params: dict[str, t.Any], check_mode: bool = False, diff: bool = False
) -> dict[str, t.Any]:
    args = dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff)
    # Warnings are process-global in ansible-core; each run starts with none, as a real one does.
    _warnings._global_warnings.clear()
    out = io.StringIO()
    # Importing a controller module (a plugin test) marks the whole process as the controller, and
    # warnings then go to the display instead of the result; a module always runs on the target.
    controller, _internal.is_controller = _internal.is_controller, False
    try:
        with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            module.main()
    finally:
        _internal.is_controller = controller
    text = out.getvalue()
    try:
        result = t.cast(dict[str, t.Any], json.loads(text))
    except ValueError:
        raise AssertionError(f"module printed no JSON result:\n{text}") from None
    # ansible-core 2.19 reports warnings as structured events; tests read their text.
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result


def ladder(module: types.ModuleType, params: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """The five-step ladder: check, check+diff, apply, idempotent check, idempotent apply.

    Asserts that the first three report a change and agree on it, that the last two report none,
    and that nothing fails; returns the five results for further checks.
    """
    steps = [(True, False), (True, True), (False, False), (True, True), (False, False)]
    results = [run_module(module, params, check_mode=c, diff=d) for c, d in steps]
    for (check, diff), result in zip(steps, results):
        assert not result.get("failed"), f"check={check} diff={diff}: {result.get('msg')}"
    assert [r["changed"] for r in results] == [True, True, True, False, False], [r.get("actions") for r in results]
    assert results[0]["actions"] == results[1]["actions"] == results[2]["actions"]
    assert "diff" in results[1] and "diff" not in results[0]
    assert results[3]["actions"] == [] and results[4]["actions"] == []
    return results
