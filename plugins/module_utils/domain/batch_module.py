"""Ansible glue of the domains module: many domain declarations over one connection in one task.

A loop of the domain module pays Ansible's per-task cost (module transfer, a new Python, a new
libvirt connection) once per VM; this runs the same plan/apply path for every item in one process.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from .._core.client import LibvirtClient
from .._core.errors import CollectionError, SpecError
from .._core.module import LibvirtModule
from .args import DOMAIN_ARGUMENT_SPEC
from .module import run_domain

_VALIDATOR = ArgumentSpecValidator(DOMAIN_ARGUMENT_SPEC, required_one_of=[("name", "xml")])


class _Item:
    """One item seen by run_domain as if it were the domain module (shared connection and warnings)."""

    def __init__(self, module: LibvirtModule, params: t.Dict[str, t.Any]) -> None:
        self.module = module
        self.params = params

    @property
    def check_mode(self) -> bool:
        return self.module.check_mode

    @property
    def diff(self) -> bool:
        return self.module.diff

    def warn(self, message: str) -> None:
        self.module.warn(message)

    def peers(self) -> t.List[LibvirtClient]:
        # The task's peers option serves every item.
        return self.module.peers()

    def client(self, readonly: bool = False) -> LibvirtClient:
        # One connection for all items: read-only in check mode, else read-write (the first item may write).
        return self.module.client(readonly=self.module.check_mode)


def item_params(module: LibvirtModule, index: int, item: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The item over ``defaults``, validated with the domain module's own argument spec."""
    merged = {**module.params["defaults"], **item}
    validated = _VALIDATOR.validate(merged)
    # Passwords inside items are hidden from results and logs as the domain module hides its own.
    module.hide(*validated._no_log_values)
    if validated.error_messages:
        raise SpecError(f"domains[{index}]", validated.error_messages[0])
    return t.cast(t.Dict[str, t.Any], validated.validated_parameters)


def run_domains(module: LibvirtModule) -> t.Dict[str, t.Any]:
    results: t.List[t.Dict[str, t.Any]] = []
    changed: t.List[str] = []
    for index, item in enumerate(module.params["domains"]):
        params = item_params(module, index, item)
        label = f"domains[{index}] ({params.get('name') or 'from xml'})"
        try:
            results.append(run_domain(_Item(module, params)))
        except SpecError as err:
            raise SpecError(f"{label}.{err.path}" if err.path else label, err.reason) from err
        except CollectionError as err:
            # Same error class and details (consent option, libvirt code); the message says which item.
            err.message = f"{label}: {err.message} (changed before it: {', '.join(changed) or 'none'})"
            err.args = (err.message,)
            err.completed = [a for r in results for a in r["actions"]] + err.completed
            raise
        if results[-1]["changed"]:
            changed.append(str(params.get("name") or results[-1]["domain"].get("name")))
    outcome: t.Dict[str, t.Any] = {
        "changed": any(r["changed"] for r in results),
        "actions": [action for r in results for action in r["actions"]],
        "results": results,
    }
    if module.diff:
        outcome["diff"] = [d for r in results if r["changed"] for d in r.get("diff", [])]
    return outcome
