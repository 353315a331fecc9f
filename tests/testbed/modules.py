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

from ansible.module_utils.testing import patch_module_args


def run_module(
    module: types.ModuleType, params: dict[str, t.Any], check_mode: bool = False, diff: bool = False
) -> dict[str, t.Any]:
    args = dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        module.main()
    text = out.getvalue()
    try:
        return t.cast(dict[str, t.Any], json.loads(text))
    except ValueError:
        raise AssertionError(f"module printed no JSON result:\n{text}") from None
