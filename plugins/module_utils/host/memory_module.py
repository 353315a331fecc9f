"""Ansible glue of the host_memory module."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import os
import typing as t

from .._core.module import CollectionModule
from .memory import TMPFILES, desired_values, memory_facts, plan, read_value, tmpfiles_text, write_value


def _read_file(path: str) -> t.Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def run_host_memory(module: CollectionModule) -> t.Dict[str, t.Any]:
    params = module.params
    desired = desired_values(params.get("ksm"), params.get("hugepages"), userfaultfd=params.get("userfaultfd"))
    changes = plan(desired, {path: read_value(path) for path in desired})
    want_file = tmpfiles_text(desired) if params["persist"] and desired else None
    have_file = _read_file(TMPFILES)
    file_changes = want_file != have_file and not (want_file is None and have_file is None)
    if not module.check_mode:
        for path, (_before, after) in changes.items():
            write_value(path, after)
        if file_changes and want_file is None:
            os.unlink(TMPFILES)
        elif file_changes:
            os.makedirs(os.path.dirname(TMPFILES), exist_ok=True)
            with open(TMPFILES, "w", encoding="utf-8") as handle:
                handle.write(t.cast(str, want_file))
    actions = [f"set {path} from {before} to {after}" for path, (before, after) in changes.items()]
    if file_changes:
        actions.append(f"{'remove' if want_file is None else 'write'} {TMPFILES}")
    result: t.Dict[str, t.Any] = {
        "changed": bool(actions),
        "actions": actions,
        "changes": {path: {"before": before, "after": after} for path, (before, after) in changes.items()},
        "memory": memory_facts(),
    }
    if module.diff:
        before = "".join(f"{path} = {b}\n" for path, (b, _a) in changes.items())
        after = "".join(f"{path} = {a}\n" for path, (_b, a) in changes.items())
        if file_changes:
            before, after = before + (have_file or ""), after + (want_file or "")
        result["diff"] = {"before": before, "after": after}
    return result
