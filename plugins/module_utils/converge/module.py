"""Ansible glue of the converge module: each step is run by its own module's run function, as that module
would run it, over one connection per hypervisor for the whole task."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import functools
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from .._core.args import PEERS, STORAGE_TIMEOUT
from .._core.client import LibvirtClient, resolve_uri
from .._core.errors import SpecError
from .._core.module import CONNECTION_ARGS, CollectionModule, ModuleRun, Result, distinct_peers, run_in_order
from ..domain.args import DOMAINS_SPEC
from ..domain.batch_module import run_domains
from ..domain.seen_model import SeenDomains
from ..shared_disk.args import SHARED_DISK_RULES, SHARED_DISK_SPEC
from ..shared_disk.module import run_shared_disk
from ..storage.module import run_pool, run_volume, run_volumes
from ..storage.pool_args import POOL_SPEC
from ..storage.usage_client import UsageReader
from ..storage.volume_args import VOLUME_ITEM_SPEC, VOLUMES_SPEC


class TaskReads:
    """What the steps read and share while none of them changes anything: who uses which volume (the clones'
    templates, the shared volumes, the deletions' guards) and the domains as the last step read them. A step that
    changes something, or whose pool rescan finds or loses volumes, makes the next ones read again."""

    def __init__(self) -> None:
        self.usage = UsageReader()
        self.domains = SeenDomains()

    def forget(self) -> None:
        self.usage.forget()
        self.domains.forget()


StepRun = t.Callable[[ModuleRun, TaskReads], Result]


@dataclasses.dataclass(frozen=True)
class StepKind:
    """A module a step can be: its options (the module's own, connection options included) and run function,
    which gets the reader of who uses what that the task's steps share."""

    validator: ArgumentSpecValidator
    run: StepRun


def _kind(spec: t.Dict[str, t.Any], run: StepRun, **rules: t.Any) -> StepKind:
    return StepKind(ArgumentSpecValidator({**CONNECTION_ARGS, **spec}, **rules), run)


# The steps a cluster's convergence needs; the volume module's uploads stay with that module (an action plugin
# carries them from the controller).
STEP_KINDS: t.Dict[str, StepKind] = {
    "volume": _kind(
        dict(VOLUME_ITEM_SPEC, timeout=STORAGE_TIMEOUT, peers=PEERS), lambda step, reads: run_volume(step, reads.usage)
    ),
    "volumes": _kind(VOLUMES_SPEC, lambda step, reads: run_volumes(step, reads.usage)),
    "pool": _kind(POOL_SPEC, lambda step, _reads: run_pool(step)),
    "domains": _kind(DOMAINS_SPEC, lambda step, reads: run_domains(step, reads.domains)),
    "shared_disk": _kind(
        SHARED_DISK_SPEC, lambda step, reads: run_shared_disk(step, reads.usage, reads.domains), **SHARED_DISK_RULES
    ),
}


class Connections:
    """One connection per hypervisor for every step: read-only in check mode, else read-write."""

    def __init__(self, readonly: bool) -> None:
        self.readonly = readonly
        self._open: t.Dict[str, LibvirtClient] = {}

    def get(self, uri: t.Optional[str], timeout: int) -> LibvirtClient:
        key = resolve_uri(uri)
        if key not in self._open:
            self._open[key] = LibvirtClient.connect(uri, readonly=self.readonly, timeout=timeout)
        return self._open[key]

    def close(self) -> None:
        for client in self._open.values():
            client.close()
        self._open = {}


class ConvergeModule(CollectionModule):
    """The converge task: its steps share its connections, check mode, diff and warnings."""

    def __init__(self, argument_spec: t.Dict[str, t.Any], **kwargs: t.Any) -> None:
        super().__init__({**CONNECTION_ARGS, **argument_spec}, **kwargs)
        self.connections = Connections(readonly=self.check_mode)
        # Check mode: what the steps so far declare, per hypervisor, so that a later step predicts from it
        # rather than warning that an earlier task may make it.
        self.declared: t.Dict[str, t.Set[t.Tuple[str, str]]] = {}
        # Who uses which volume, and the domains: a rerun that changes nothing reads each once.
        self.reads = TaskReads()

    def note(self, host: str, kind: str, params: t.Mapping[str, t.Any]) -> None:
        here = self.declared.setdefault(host, set())
        here.update(declared_by(kind, params))
        if kind == "pool" and params["refresh"]:
            # A rescan shows here the volumes that steps made in the same pool on other hypervisors (shared).
            prefix = f"{params['name']}/"
            here.update(each for there in self.declared.values() for each in there if each[1].startswith(prefix))

    def close(self) -> None:
        self.connections.close()


class Step:
    """One step, seen by its module's run function as if it were that module (ModuleRun, and ``hide`` and the
    ``params`` a bulk step's items are validated against)."""

    def __init__(self, task: ConvergeModule, params: t.Dict[str, t.Any], label: str) -> None:
        self.task = task
        self.params = params
        self.label = label

    @property
    def check_mode(self) -> bool:
        return self.task.check_mode

    @property
    def diff(self) -> bool:
        return self.task.diff

    def warn(self, message: str) -> None:
        self.task.warn(f"{self.label}: {message}")

    def hide(self, *values: str) -> None:
        self.task.hide(*values)

    def client(self, readonly: bool = False) -> LibvirtClient:
        client = self.task.connections.get(self.params.get("uri"), self.params["connect_timeout"])
        # Steps that wait on storage servers take the bound from their own timeout option, the others the default.
        timeout = self.params.get("timeout")
        client.storage_timeout = timeout if isinstance(timeout, int) else LibvirtClient.storage_timeout
        return client

    @property
    def host(self) -> str:
        return resolve_uri(self.params.get("uri"))

    def made_earlier(self, kind: str, name: str) -> bool:
        return (kind, name) in self.task.declared.get(self.host, set())

    def peers(self) -> t.List[LibvirtClient]:
        timeout = self.params["connect_timeout"]
        return distinct_peers(
            self.client(),
            self.params.get("uri"),
            self.params.get("peers") or [],
            lambda uri: self.task.connections.get(uri, timeout),
            lambda _peer: None,  # another step's own connection, perhaps: it stays open for the task
        )


def declared_by(kind: str, params: t.Mapping[str, t.Any]) -> t.Iterator[t.Tuple[str, str]]:
    """The objects a step leaves present once it has run: (kind, name), a volume's name with its pool."""
    if kind == "volume" and params["state"] == "present":
        yield "volume", f"{params['pool']}/{params['name']}"
    elif kind in ("volumes", "domains"):
        for item in params[kind]:
            merged = {**params["defaults"], **item}
            if kind == "volumes" and merged.get("state", "present") == "present":
                yield "volume", f"{merged.get('pool')}/{merged.get('name')}"
            elif kind == "domains" and merged.get("state") != "absent" and merged.get("name"):
                yield "domain", str(merged["name"])
    elif kind == "pool" and params["state"] in ("present", "active"):
        yield "pool", params["name"]
    elif kind == "shared_disk" and params["state"] == "present" and params.get("volume") and params.get("capacity"):
        yield "volume", f"{params['volume']['pool']}/{params['volume']['name']}"


def _run_step(task: ConvergeModule, kind: str, step: Step) -> Result:
    result = STEP_KINDS[kind].run(step, task.reads)
    if task.check_mode:
        task.note(step.host, kind, step.params)
    elif result.get("changed") or _rescan_showed_news(result):
        task.reads.forget()  # they no longer say who uses what, nor how the domains are
    return result


def _rescan_showed_news(result: Result) -> bool:
    """A pool's rescan found volumes (another hypervisor made them since the read) or lost some."""
    rescan = result.get("rescan") or {}
    return bool(rescan.get("found") or rescan.get("gone"))


def _step_params(task: ConvergeModule, index: int, step: t.Mapping[str, t.Any]) -> t.Tuple[str, t.Dict[str, t.Any]]:
    """The step's module and its validated options (the task's connection options are their defaults)."""
    if len(step) != 1 or next(iter(step)) not in STEP_KINDS:
        raise SpecError(
            f"steps[{index}]", f"must have exactly one key, the module of the step: one of {', '.join(STEP_KINDS)}"
        )
    name, options = next(iter(step.items()))
    if not isinstance(options, dict):
        raise SpecError(f"steps[{index}].{name}", "must be a dictionary of the module's options")
    connection = {"uri": task.params.get("uri"), "connect_timeout": task.params["connect_timeout"]}
    validated = STEP_KINDS[name].validator.validate({**connection, **options})
    task.hide(*validated._no_log_values)
    if validated.error_messages:
        raise SpecError(f"steps[{index}].{name}", validated.error_messages[0])
    return name, t.cast(t.Dict[str, t.Any], validated.validated_parameters)


def run_converge(task: ConvergeModule) -> Result:
    """Every step validated first (a typo stops the task before it changes anything), then run in order."""
    steps = [_step_params(task, i, step) for i, step in enumerate(task.params["steps"])]
    runs = []
    for index, (name, params) in enumerate(steps):
        label = f"steps[{index}] ({name} on {resolve_uri(params.get('uri'))})"
        runs.append((label, label, functools.partial(_run_step, task, name, Step(task, params, label))))
    outcome = run_in_order(runs, task.diff)
    for (name, params), result in zip(steps, outcome["results"]):
        result.update(step=name, uri=resolve_uri(params.get("uri")))
    return outcome
