"""Ansible glue of the domains module: many domain declarations over one connection in one task."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.module import Batch, ModuleRun
from .args import DOMAIN_ARGUMENT_SPEC
from .module import run_domain
from .seen_model import SeenDomains

_DOMAINS = Batch("domains", DOMAIN_ARGUMENT_SPEC, required_one_of=[("name", "xml")])


def run_domains(module: ModuleRun, seen: t.Optional[SeenDomains] = None) -> t.Dict[str, t.Any]:
    """The domains module (``seen``: the domains a converge task's earlier steps read while nothing changed)."""
    return _DOMAINS.run(module, lambda item: run_domain(item, seen))
