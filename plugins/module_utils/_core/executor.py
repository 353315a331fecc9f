"""The one shape of every resource's executor: a Plan's steps, each to its ``_step_<op>`` method."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .errors import CollectionError
from .plan import Plan


class Executor:
    """Carries out a Plan in order: each step goes to the method ``_step_<op>(plan, step)``.

    Every resource's executor has this one shape, so glue that drives several (shared_disk drives
    volumes and domains) calls ``apply(plan)`` on each without knowing its kind.
    """

    def apply(self, plan: Plan, completed: t.Optional[t.List[str]] = None) -> None:
        """Carry out every step; a failure carries what was done before it (``completed``, in order), so the
        module can report it and a rerun knows where it stands."""
        done = completed if completed is not None else []
        for step in plan.steps:
            handler = getattr(self, f"_step_{step.op}", None)
            if handler is None:
                raise ValueError(f"{type(self).__name__} has no step {step.op!r}")
            try:
                handler(plan, step)
            except CollectionError as err:
                err.completed = list(done)
                raise
            if step.action and step.action not in done:
                done.append(step.action)
