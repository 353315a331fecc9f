"""Ansible glue for modules: connection options, the one place that calls fail_json, bulk modules' items."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import functools
import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from .client import DEFAULT_CONNECT_TIMEOUT, LibvirtClient, resolve_uri
from .errors import CollectionError, MissingLibrary, SpecError
from .xmlutil import secrets_in_xml_options

# Documented once, in doc_fragments/connection.py; set once per play through module_defaults
# on the action group sharedvirt.kvm.libvirt.
CONNECTION_ARGS: t.Dict[str, t.Dict[str, t.Any]] = {
    "uri": {"type": "str", "fallback": (env_fallback, ["LIBVIRT_DEFAULT_URI"])},
    "connect_timeout": {"type": "int", "default": DEFAULT_CONNECT_TIMEOUT},
}

Result = t.Dict[str, t.Any]


class CollectionModule:
    """An AnsibleModule with one failure path; the base of every module of the collection."""

    def __init__(self, argument_spec: t.Dict[str, t.Any], **kwargs: t.Any) -> None:
        self.ansible = AnsibleModule(argument_spec=argument_spec, **kwargs)
        self.params: t.Dict[str, t.Any] = self.ansible.params
        # Passwords written into an xml option are as secret as the options marked no_log.
        self.hide(*secrets_in_xml_options(self.params))

    @property
    def check_mode(self) -> bool:
        """True in --check runs: plan and predict, change nothing."""
        return bool(self.ansible.check_mode)

    @property
    def diff(self) -> bool:
        """True in --diff runs."""
        return bool(self.ansible._diff)

    def warn(self, message: str) -> None:
        """A warning in the task's output (Ansible prints each once)."""
        self.ansible.warn(message)

    def hide(self, *values: str) -> None:
        """Values never to appear in results or logs (secrets found inside other options)."""
        self.ansible.no_log_values.update(values)

    def run(self, body: t.Callable[[t.Any], Result]) -> None:
        """Run ``body`` and exit with its result; every error leaves through :meth:`fail`."""
        try:
            result = body(self)
        except CollectionError as err:
            self.fail(err)
        except Exception as err:  # a bug or an unexpected library error: keep the traceback
            self.close()
            self.ansible.fail_json(msg=f"unexpected error: {err}", exception=traceback.format_exc())
        self.close()
        self.ansible.exit_json(**result)

    def fail(self, err: CollectionError) -> t.NoReturn:
        """The single failure path: message, typed details and traceback."""
        self.close()
        if isinstance(err, MissingLibrary):
            self.ansible.fail_json(msg=missing_required_lib(err.library), exception=traceback.format_exc())
        if err.completed:
            # A failed run says what it did: the rerun picks up from there, and the user knows what changed.
            self.ansible.fail_json(
                msg=f"{err.message} (done before the failure: {'; '.join(err.completed)})",
                changed=True,
                completed_actions=err.completed,
                exception=traceback.format_exc(),
                **err.details(),
            )
        self.ansible.fail_json(msg=err.message, changed=False, exception=traceback.format_exc(), **err.details())
        raise SystemExit(1)  # fail_json has exited already; this line only states it to type checkers

    def close(self) -> None:
        """Release what the run opened (subclasses)."""


class ModuleRun(t.Protocol):
    """What a module's run function needs: the module itself, or one item of its bulk module (BatchItem)."""

    params: t.Dict[str, t.Any]

    @property
    def check_mode(self) -> bool: ...

    @property
    def diff(self) -> bool: ...

    def client(self, readonly: bool = False) -> LibvirtClient: ...

    def warn(self, message: str) -> None: ...

    def hide(self, *values: str) -> None: ...

    def peers(self) -> t.List[LibvirtClient]: ...

    def made_earlier(self, kind: str, name: str) -> bool: ...


def predicted_missing(module: ModuleRun, problem: str, kind: str, name: str, verb: str = "create") -> None:
    """Check mode, something the task needs is missing: the task predicts without it (a real run fails on it). It
    warns that an earlier task of the run may make it - unless an earlier step of this task declares it."""
    if not module.made_earlier(kind, name):
        module.warn(f"{problem} (check mode goes on: an earlier task of this run may {verb} it)")


class LibvirtModule(CollectionModule):
    """A module with the connection options and a lazy libvirt client."""

    def __init__(self, argument_spec: t.Dict[str, t.Any], **kwargs: t.Any) -> None:
        spec = dict(CONNECTION_ARGS)
        spec.update(argument_spec)
        self._client: t.Optional[LibvirtClient] = None
        self._peers: t.Optional[t.List[LibvirtClient]] = None
        super().__init__(spec, **kwargs)

    def client(self, readonly: bool = False) -> LibvirtClient:
        """The connection to ``uri``, opened on first use (read-only if asked first)."""
        if self._client is None:
            self._client = LibvirtClient.connect(
                self.params.get("uri"), readonly=readonly, timeout=self.params["connect_timeout"]
            )
            # Modules that wait on storage servers take the bound from their timeout option.
            if isinstance(self.params.get("timeout"), int):
                self._client.storage_timeout = self.params["timeout"]
        return self._client

    def made_earlier(self, kind: str, name: str) -> bool:
        """In check mode, whether an earlier step of this task declares the object (a converge task's steps;
        a task of its own has none, so a missing object is only a warning that an earlier task may make it)."""
        return False

    def peers(self) -> t.List[LibvirtClient]:
        """Read-only connections to the other hypervisors of the ``peers`` option, one per machine.

        A URI that reaches the task's own hypervisor (by host UUID) is left out: its domains are read already.
        """
        if self._peers is None:
            # The task's own connection is opened by then (never here: it would fix it read-only).
            self._peers = distinct_peers(
                self._client,
                self.params.get("uri"),
                self.params.get("peers") or [],
                lambda uri: LibvirtClient.connect(uri, readonly=True, timeout=self.params["connect_timeout"]),
                lambda peer: peer.close(),
            )
        return self._peers

    def close(self) -> None:
        """Close the connections that were opened."""
        for peer in self._peers or []:
            peer.close()
        self._peers = None
        if self._client is not None:
            self._client.close()
            self._client = None


class ClusterModule(CollectionModule):
    """A module over several hypervisors (its ``hypervisors`` option): one connection to each, read-only in
    check mode."""

    def __init__(self, argument_spec: t.Dict[str, t.Any], **kwargs: t.Any) -> None:
        super().__init__(argument_spec, **kwargs)
        self._clients: t.Dict[str, LibvirtClient] = {}

    def clients(self) -> t.Dict[str, LibvirtClient]:
        if not self._clients:
            for uri in dict.fromkeys(self.params["hypervisors"]):
                self._clients[uri] = LibvirtClient.connect(
                    uri, readonly=self.check_mode, timeout=self.params["connect_timeout"]
                )
        return self._clients

    def reachable(self) -> t.Tuple[t.Dict[str, LibvirtClient], t.List[str]]:
        """Connections to the hypervisors that answer within ``connect_timeout``, and the URIs of the others
        (a failed host is what the caller looks for, not an error)."""
        failed = []
        for uri in dict.fromkeys(self.params["hypervisors"]):
            if uri in self._clients:
                continue
            try:
                self._clients[uri] = LibvirtClient.connect(
                    uri, readonly=self.check_mode, timeout=self.params["connect_timeout"]
                )
            except CollectionError:
                failed.append(uri)
        return dict(self._clients), failed

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients = {}


class BatchItem:
    """One item, seen by the single module's run function as if it were that module (the task's connection,
    peers and warnings)."""

    def __init__(self, module: ModuleRun, params: t.Dict[str, t.Any]) -> None:
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

    def hide(self, *values: str) -> None:
        self.module.hide(*values)

    def peers(self) -> t.List[LibvirtClient]:
        return self.module.peers()  # the task's peers option serves every item

    def made_earlier(self, kind: str, name: str) -> bool:
        return self.module.made_earlier(kind, name)

    def client(self, readonly: bool = False) -> LibvirtClient:
        # One connection for all items: read-only in check mode, else read-write (the first item may write).
        return self.module.client(readonly=self.module.check_mode)


class Batch:
    """The items of the task's option ``key`` over ``defaults``, each validated with the single module's spec."""

    def __init__(self, key: str, item_spec: t.Dict[str, t.Any], **validator_args: t.Any) -> None:
        self.key = key
        self.validator = ArgumentSpecValidator(item_spec, **validator_args)

    def params(self, module: ModuleRun, index: int, item: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
        validated = self.validator.validate({**module.params["defaults"], **item})
        # Secrets inside items are hidden from results and logs as the single module hides its own.
        module.hide(*validated._no_log_values)
        if validated.error_messages:
            raise SpecError(f"{self.key}[{index}]", validated.error_messages[0])
        return t.cast(t.Dict[str, t.Any], validated.validated_parameters)

    def run(self, module: ModuleRun, run_one: t.Callable[[ModuleRun], Result]) -> Result:
        items = [self.params(module, i, item) for i, item in enumerate(module.params[self.key])]
        runs = []
        for index, params in enumerate(items):
            label = f"{self.key}[{index}] ({params.get('name') or 'from xml'})"
            item = BatchItem(module, params)
            runs.append((label, str(params.get("name") or label), functools.partial(run_one, item)))
        return run_in_order(runs, module.diff)


def run_in_order(runs: t.Sequence[t.Tuple[str, str, t.Callable[[], Result]]], diff: bool) -> Result:
    """Each (label, name, run) in turn, its results together; the first error stops them, and says which one
    failed and what changed before it (whose actions the failed task reports as done)."""
    results: t.List[Result] = []
    changed: t.List[str] = []
    for label, name, run in runs:
        try:
            results.append(run())
        except CollectionError as err:
            done = [a for r in results for a in r["actions"]] + err.completed
            if isinstance(err, SpecError):
                labelled = SpecError(f"{label}.{err.path}" if err.path else label, err.reason)
                labelled.completed = done
                raise labelled from err
            # Same error class and details (consent option, libvirt code); the message says which one.
            err.message = f"{label}: {err.message} (changed before it: {', '.join(changed) or 'none'})"
            err.args = (err.message,)
            err.completed = done
            raise
        if results[-1]["changed"]:
            changed.append(name)
    outcome: Result = {
        "changed": any(r["changed"] for r in results),
        "actions": [action for r in results for action in r["actions"]],
        "results": results,
    }
    if diff:
        outcome["diff"] = [d for r in results if r["changed"] for d in _diffs(r)]
    return outcome


def _diffs(result: Result) -> t.List[t.Dict[str, t.Any]]:
    diff = result.get("diff", [])
    return list(diff) if isinstance(diff, list) else [diff]


def distinct_peers(
    own: t.Optional[LibvirtClient],
    own_uri: t.Optional[str],
    uris: t.Iterable[str],
    connect: t.Callable[[str], LibvirtClient],
    drop: t.Callable[[LibvirtClient], None],
) -> t.List[LibvirtClient]:
    """Connections to the hypervisors behind ``uris``, one per machine: a URI that reaches the task's own
    hypervisor (by host UUID) or one already seen is left out, so no domain is read twice."""
    seen = {resolve_uri(own_uri)} | ({own.uri, own.host_uuid()} if own else set()) - {""}
    peers = []
    for uri in dict.fromkeys(uris):
        if uri in seen:
            continue
        peer = connect(uri)
        machine = peer.host_uuid()
        if machine and machine in seen:
            drop(peer)
            continue
        seen |= {uri, machine} - {""}
        peers.append(peer)
    return peers
