"""Host CPU sets in libvirt's syntax (``0-3,^2,8``), normalised so equal sets compare equal."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import re
import typing as t

from .errors import SpecError

_PART = re.compile(r"^(\^)?(\d+)(?:-(\d+))?$")


def parse_cpuset(value: t.Any, path: str = "cpuset") -> t.List[int]:
    """Sorted CPU numbers of a cpuset string (or a list of ints, or one int)."""
    if isinstance(value, bool):
        raise SpecError(path, f"{value!r} is not a CPU set; write it like 0-3,8 or ^2")
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(path, f"{value!r} is not a CPU set; write it like 0-3,8 or ^2")
    cpus: t.Set[int] = set()
    excluded: t.Set[int] = set()
    for part in value.replace(" ", "").split(","):
        match = _PART.match(part)
        if not match:
            raise SpecError(path, f"{value!r} is not a CPU set; write it like 0-3,8 or ^2")
        first = int(match.group(2))
        last = int(match.group(3) or first)
        if last < first:
            raise SpecError(path, f"{value!r} has the range {part!r} backwards")
        (excluded if match.group(1) else cpus).update(range(first, last + 1))
    result = sorted(cpus - excluded)
    if not result:
        raise SpecError(path, f"{value!r} selects no CPU")
    return result


def format_cpuset(cpus: t.Iterable[int]) -> str:
    """Compact form: [0, 1, 2, 5] -> '0-2,5'."""
    ordered = sorted(set(cpus))
    parts: t.List[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def normalize_cpuset(value: t.Any, path: str = "cpuset") -> str:
    """The canonical string of a cpuset: what libvirt stores and what we compare."""
    return format_cpuset(parse_cpuset(value, path))
