"""Typed errors of the collection.

Lower layers raise these; only the glue (``_core.module``, ``plugin_utils``) turns them into
``fail_json`` or ``AnsibleError``. Every message names the object, the option path and the fix.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t


class CollectionError(Exception):
    """Base of every error the collection raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # What the run had carried out when this error stopped it (actions in words, in order).
        self.completed: t.List[str] = []

    def details(self) -> t.Dict[str, t.Any]:
        """Extra result keys for ``fail_json`` (JSON-safe)."""
        return {}


class SpecError(CollectionError):
    """An option value is invalid; ``path`` is the option path such as ``interfaces[1].mac``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message

    def details(self) -> t.Dict[str, t.Any]:
        return {"option": self.path}


class ConflictError(CollectionError):
    """The request contradicts the state of another object (in use, shared, running)."""


class UnsafeOperation(CollectionError):
    """The change would destroy or expose data and the named consent flag was not given."""

    def __init__(self, message: str, consent: str) -> None:
        super().__init__(message)
        self.consent = consent

    def details(self) -> t.Dict[str, t.Any]:
        return {"consent_option": self.consent}


class WaitTimeout(CollectionError):
    """A bounded wait ended before the awaited state was reached."""


class LibvirtError(CollectionError):
    """A libvirt call failed; keeps libvirt's own error code, domain and message."""

    def __init__(
        self,
        action: str,
        libvirt_message: str,
        code: t.Optional[int] = None,
        domain: t.Optional[int] = None,
        hint: str = "",
    ) -> None:
        text = f"{action}: {libvirt_message}"
        if hint:
            text = f"{text} ({hint})"
        super().__init__(text)
        self.action = action
        self.libvirt_message = libvirt_message
        self.code = code
        self.domain = domain

    def details(self) -> t.Dict[str, t.Any]:
        return {"libvirt_error": {"code": self.code, "domain": self.domain, "message": self.libvirt_message}}


class NotFoundError(LibvirtError):
    """libvirt answered VIR_ERR_NO_* for an object that had to exist."""


class AlreadyExists(LibvirtError):
    """Creating an object failed because it exists now: another run made it between our read and our write."""


class ConnectError(LibvirtError):
    """No connection to the hypervisor (unreachable, refused, no daemon, timed out)."""


class AuthError(LibvirtError):
    """The hypervisor refused the credentials or the operation for this user."""


class MissingLibrary(CollectionError):
    """A Python library the collection needs is not importable where the code runs."""

    def __init__(self, library: str, where: str) -> None:
        super().__init__(
            f"the Python library {library!r} is required on the {where}; "
            f"install it into the interpreter Ansible uses there (pip install {library})"
        )
        self.library = library
