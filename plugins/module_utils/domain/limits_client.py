"""The live steps of resource limits: CPU shares and bandwidth, memory limits, block I/O weight and a disk's
I/O throttling, set on the running guest (I/O; mixed into DomainExecutor)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t

from .._core.client import LibvirtClient, libvirt
from .._core.errors import LibvirtError
from .._core.plan import Plan, Step

# The kernel weighs a cgroup's block I/O only under the BFQ scheduler; libvirt refuses the weight without it.
NO_BFQ_HINT = (
    "blkiotune.weight needs the BFQ I/O scheduler, which this host's kernel does not offer for the block devices: "
    "select bfq in /sys/block/<device>/queue/scheduler (CONFIG_IOSCHED_BFQ), or leave blkiotune.weight unset"
)


class LimitSteps:
    """``_step_set_*`` of the limits; ``client`` is the executor's connection."""

    client: LibvirtClient

    def _limits(self, plan: Plan, step: Step, what: str, setter: str, *args: t.Any) -> None:
        dom = self.client.call(f"look up domain {plan.name!r}", self.client.conn.lookupByName, plan.name)
        params = {key: int(value) for key, value in step.args["params"].items() if value is not None}
        call = getattr(dom, setter)
        self.client.call(f"set {what} of domain {plan.name!r}", call, *args, params, libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def _step_set_scheduler(self, plan: Plan, step: Step) -> None:
        self._limits(plan, step, "the CPU shares and bandwidth", "setSchedulerParametersFlags")

    def _step_set_memtune(self, plan: Plan, step: Step) -> None:
        self._limits(plan, step, "the memory limits", "setMemoryParameters")

    def _step_set_blkio(self, plan: Plan, step: Step) -> None:
        try:
            self._limits(plan, step, "the block I/O weight", "setBlkioParameters")
        except LibvirtError as err:
            if "bfq" not in err.libvirt_message:
                raise
            raise LibvirtError(err.action, err.libvirt_message, err.code, err.domain, NO_BFQ_HINT) from err

    def _step_set_iotune(self, plan: Plan, step: Step) -> None:
        self._limits(plan, step, f"the I/O limits of disk {step.args['disk']}", "setBlockIoTune", step.args["disk"])
