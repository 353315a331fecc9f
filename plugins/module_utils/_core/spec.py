"""The base of every typed spec: options -> spec, XML <-> spec, spec -> facts.

A spec field that is None means "not set": the planner never compares it. Field behaviour is
declared once, in the field's metadata, through :func:`option`:

- ``normalize(value, path)``: turns user input into the canonical value (sizes, MACs, names);
- ``spec`` / ``many``: a nested spec, or a list of them;
- ``generated``: libvirt fills it in (UUID, MAC, PCI address, alias); carried from actual first;
- ``live``: a change can be applied to a running object (otherwise it needs a restart);
- ``extra``: for lists, ``remove`` (the list is complete) or ``keep`` (items not listed stay);
- ``unordered``: for scalar lists, order does not matter;
- ``secret``: never shown in facts or diffs.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import abc
import copy
import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .errors import SpecError
from .xmlutil import parse_xml, to_string

Normalizer = t.Callable[[t.Any, str], t.Any]
SpecT = t.TypeVar("SpecT", bound="Spec")
XmlSpecT = t.TypeVar("XmlSpecT", bound="XmlSpec")
SECRET_MASK = "********"
# option() is the collection's field() with metadata; called only inside spec dataclasses.
_field = dataclasses.field


def option(
    normalize: t.Optional[Normalizer] = None,
    spec: t.Optional[t.Type[Spec]] = None,
    many: bool = False,
    generated: bool = False,
    live: bool = False,
    extra: str = "remove",
    unordered: bool = False,
    secret: bool = False,
) -> t.Any:
    """A spec field (default None = not set) with its behaviour in the metadata."""
    meta = {
        "normalize": normalize,
        "spec": spec,
        "many": many,
        "generated": generated,
        "live": live,
        "extra": extra,
        "unordered": unordered,
        "secret": secret,
    }
    return _field(default=None, metadata=meta)


def choice(allowed: t.Sequence[str]) -> Normalizer:
    """A normaliser accepting only the values in ``allowed`` (for specs parsed outside an argspec)."""

    def check(value: t.Any, path: str) -> str:
        if value not in allowed:
            raise SpecError(path, f"{value!r} is not one of {', '.join(allowed)}")
        return str(value)

    return check


def in_range(low: int, high: int) -> Normalizer:
    """A normaliser accepting whole numbers from ``low`` to ``high``: a value libvirt would choke on never
    reaches it (a negative vCPU count once made libvirtd try a 34 GB allocation and abort)."""

    def check(value: t.Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
            raise SpecError(path, f"{value!r} is not a whole number")
        number = int(value)
        if not low <= number <= high:
            raise SpecError(path, f"{number} is out of range; give {low} to {high}")
        return number

    return check


def _refuse_control_characters(raw: t.Any, path: str) -> None:
    """Text bound for XML or a file name may not hold control characters (XML cannot carry them)."""
    texts = (
        [raw]
        if isinstance(raw, str)
        else [v for v in raw.values() if isinstance(v, str)]
        if isinstance(raw, dict)
        else []
    )
    for text in texts:
        bad = next((c for c in text if ord(c) < 32 and c not in "\t\n\r" or ord(c) == 127), None)
        if bad is not None:
            raise SpecError(path, f"contains the control character {bad!r}, which libvirt's XML cannot hold")


def join_path(base: str, name: str) -> str:
    """Option path of ``name`` below ``base`` (``disks[1]`` + ``format``)."""
    return f"{base}.{name}" if base else name


@dataclasses.dataclass
class Spec:
    """A typed description of (part of) a libvirt object."""

    # Fields whose values identify a list item (a NIC by MAC, a disk by target).
    IDENTITY: t.ClassVar[t.Tuple[str, ...]] = ()
    # Used to match an item whose identity is unset (a NIC declared without a MAC) before
    # libvirt's generated identity is carried over to it.
    FALLBACK_IDENTITY: t.ClassVar[t.Tuple[str, ...]] = ()

    @classmethod
    def from_params(cls: t.Type[SpecT], params: t.Optional[t.Mapping[str, t.Any]], path: str = "") -> SpecT:
        """Build from Ansible option values, normalising each and naming the path on errors."""
        params = params or {}
        values = {}
        for fld in dataclasses.fields(cls):
            values[fld.name] = _convert(fld, params.get(fld.name), join_path(path, fld.name))
        spec = cls(**values)
        spec.validate(path)
        return spec

    def validate(self, path: str) -> None:
        """Cross-field checks; subclasses raise SpecError. Single fields use ``normalize``."""

    @classmethod
    def absent(cls: t.Type[SpecT]) -> t.Optional[SpecT]:
        """What a missing element means, to compare a declaration with (None: nothing; a subclass whose absence
        means defaults, such as a disk without throttling, returns those)."""
        return None

    def identity(self) -> t.Optional[t.Tuple[t.Any, ...]]:
        """The identity key, or None when the class has none or a part is unset."""
        return _key(self, self.IDENTITY)

    def fallback_identity(self) -> t.Optional[t.Tuple[t.Any, ...]]:
        """The secondary key used to match items whose identity is unset."""
        return _key(self, self.FALLBACK_IDENTITY)

    def label(self) -> str:
        """How a list item is named in option paths: ``mac=52:54:00:00:00:01``."""
        key = self.identity()
        if key is None:
            return ""
        return ",".join(f"{name}={value}" for name, value in zip(self.IDENTITY, key))

    def to_dict(self, reveal_secrets: bool = False) -> t.Dict[str, t.Any]:
        """Facts: set fields only, nested specs as dicts, secrets masked."""
        out: t.Dict[str, t.Any] = {}
        for fld in dataclasses.fields(self):
            value = getattr(self, fld.name)
            if value is None:
                continue
            if fld.metadata.get("secret") and not reveal_secrets:
                out[fld.name] = SECRET_MASK
            else:
                out[fld.name] = facts_of(value, reveal_secrets)
        return out

    def replace(self: SpecT, **changes: t.Any) -> SpecT:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


class XmlSpec(Spec, abc.ABC):
    """A spec with an XML form (a whole libvirt object, or a device)."""

    @classmethod
    @abc.abstractmethod
    def from_element(cls: t.Type[XmlSpecT], root: ET.Element) -> XmlSpecT:
        """Parse libvirt's XML for this object."""

    @abc.abstractmethod
    def to_element(self) -> ET.Element:
        """Render XML for libvirt from the set fields."""

    @classmethod
    def from_xml(cls: t.Type[XmlSpecT], text: t.Union[str, bytes], path: str = "xml") -> XmlSpecT:
        """Parse XML text (libvirt's or the user's ``xml`` option) into a spec."""
        return cls.from_element(parse_xml(text, path))

    def to_xml(self) -> str:
        """Indented XML text."""
        return to_string(self.to_element())


def facts_of(value: t.Any, reveal_secrets: bool = False) -> t.Any:
    """JSON-friendly form of a field value."""
    if isinstance(value, Spec):
        return value.to_dict(reveal_secrets)
    if isinstance(value, list):
        return [facts_of(item, reveal_secrets) for item in value]
    if isinstance(value, dict):
        return {k: facts_of(v, reveal_secrets) for k, v in value.items()}
    return copy.deepcopy(value)


def _key(spec: Spec, names: t.Tuple[str, ...]) -> t.Optional[t.Tuple[t.Any, ...]]:
    if not names:
        return None
    values = tuple(getattr(spec, name) for name in names)
    if any(v is None for v in values):
        return None
    return values


def _convert(fld: dataclasses.Field, raw: t.Any, path: str) -> t.Any:
    if raw is None:
        return None
    _refuse_control_characters(raw, path)
    meta = fld.metadata
    nested = meta.get("spec")
    if nested is not None:
        if meta.get("many"):
            if not isinstance(raw, list):
                raise SpecError(path, f"expected a list, got {type(raw).__name__}")
            return [_nested(nested, item, f"{path}[{i}]") for i, item in enumerate(raw)]
        return _nested(nested, raw, path)
    normalize = meta.get("normalize")
    if normalize is None:
        return raw
    if meta.get("many") or isinstance(raw, list):
        return [normalize(item, f"{path}[{i}]") for i, item in enumerate(raw)]
    return normalize(raw, path)


def _nested(cls: t.Type[Spec], raw: t.Any, path: str) -> Spec:
    if isinstance(raw, Spec):
        return raw
    if not isinstance(raw, t.Mapping):
        raise SpecError(path, f"expected a dictionary of options, got {type(raw).__name__}")
    return cls.from_params(raw, path)
