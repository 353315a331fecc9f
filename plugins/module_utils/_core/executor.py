"""The one shape of every resource's executor: a Plan's steps, each to its ``_step_<op>`` method."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

from .plan import Plan


class Executor:
    """Carries out a Plan in order: each step goes to the method ``_step_<op>(plan, step)``.

    Every resource's executor has this one shape, so glue that drives several (shared_disk drives
    volumes and domains) calls ``apply(plan)`` on each without knowing its kind.
    """

    def apply(self, plan: Plan) -> None:
        for step in plan.steps:
            handler = getattr(self, f"_step_{step.op}", None)
            if handler is None:
                raise ValueError(f"{type(self).__name__} has no step {step.op!r}")
            handler(plan, step)
