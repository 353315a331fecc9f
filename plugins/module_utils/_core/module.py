"""Ansible glue for modules: the connection options and the one place that calls fail_json."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from .client import DEFAULT_CONNECT_TIMEOUT, LibvirtClient
from .errors import CollectionError, MissingLibrary

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
        self.ansible.fail_json(msg=err.message, exception=traceback.format_exc(), **err.details())
        raise SystemExit(1)  # fail_json has exited already; this line only states it to type checkers

    def close(self) -> None:
        """Release what the run opened (subclasses)."""


class LibvirtModule(CollectionModule):
    """A module with the connection options and a lazy libvirt client."""

    def __init__(self, argument_spec: t.Dict[str, t.Any], **kwargs: t.Any) -> None:
        spec = dict(CONNECTION_ARGS)
        spec.update(argument_spec)
        self._client: t.Optional[LibvirtClient] = None
        super().__init__(spec, **kwargs)

    def client(self, readonly: bool = False) -> LibvirtClient:
        """The connection to ``uri``, opened on first use (read-only if asked first)."""
        if self._client is None:
            self._client = LibvirtClient.connect(
                self.params.get("uri"), readonly=readonly, timeout=self.params["connect_timeout"]
            )
        return self._client

    def close(self) -> None:
        """Close the connection if one was opened."""
        if self._client is not None:
            self._client.close()
            self._client = None
