"""Pure planner: desired spec vs actual spec -> Plan.

Rules, shared by every module:

1. generated fields (UUID, MAC, PCI address, alias) are carried from actual to desired first;
2. only fields the user set are compared (None = don't care);
3. list items are matched by identity (``Spec.IDENTITY``), then by ``FALLBACK_IDENTITY`` for items
   whose identity is unset -- never by position;
4. a change of a field not marked ``live`` on a running object sets ``reboot_required``.
"""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t

from .errors import SpecError
from .spec import SECRET_MASK, Spec, XmlSpec, facts_of, join_path

SpecT = t.TypeVar("SpecT", bound=Spec)
XmlSpecT = t.TypeVar("XmlSpecT", bound=XmlSpec)


@dataclasses.dataclass
class Change:
    """One difference: an option goes from ``before`` to ``after``.

    Where it is, as planners read it: ``field`` (the top-level option), ``item`` (the label of one item
    when the field is a list of items, such as ``target=vdb``) and ``sub`` (the option inside the field or
    item, such as ``source.file``). ``path`` is the same place as one string, for actions and diffs.
    """

    field: str
    before: t.Any
    after: t.Any
    live: bool = True
    item: t.Optional[str] = None
    sub: str = ""

    @property
    def path(self) -> str:
        head = self.field if self.item is None else f"{self.field}[{self.item}]"
        return join_path(head, self.sub) if self.sub else head

    @property
    def whole_item(self) -> bool:
        """The change adds or removes one item as a whole."""
        return self.item is not None and not self.sub


@dataclasses.dataclass(frozen=True)
class _At:
    """Where compare() is inside the desired spec (the place a Change records)."""

    field: str = ""
    item: t.Optional[str] = None
    sub: str = ""

    def child(self, name: str) -> _At:
        if not self.field:
            return _At(name)
        return dataclasses.replace(self, sub=join_path(self.sub, name))

    def element(self, label: str) -> _At:
        if self.item is None and not self.sub:
            return dataclasses.replace(self, item=label)
        return dataclasses.replace(self, sub=f"{self.sub}[{label}]")

    def change(self, before: t.Any, after: t.Any, live: bool) -> Change:
        return Change(self.field, before, after, live, self.item, self.sub)


@dataclasses.dataclass
class Step:
    """One operation for the executor (a package's ``client.py``), with its arguments."""

    op: str
    args: t.Dict[str, t.Any] = dataclasses.field(default_factory=dict)
    action: t.Optional[str] = None  # the plan's action this step carries out (set by Plan.add)


@dataclasses.dataclass
class Plan:
    """What a module will do (check mode) or did (real run), and what results from it."""

    kind: str
    name: str
    before: t.Optional[t.Dict[str, t.Any]] = None
    after: t.Optional[t.Dict[str, t.Any]] = None
    changes: t.List[Change] = dataclasses.field(default_factory=list)
    actions: t.List[str] = dataclasses.field(default_factory=list)
    reboot_required: bool = False
    steps: t.List[Step] = dataclasses.field(default_factory=list)
    warnings: t.List[str] = dataclasses.field(default_factory=list)
    # How the executor finds the object when its name alone does not say (a volume's pool and name).
    locator: t.Dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """A plan changes something exactly when it has an action to carry out."""
        return bool(self.actions)

    def add(self, action: str, *changes: Change, step: t.Optional[Step] = None) -> None:
        """Record an action, the differences it resolves and the executor step that performs it."""
        self.actions.append(action)
        self.changes.extend(changes)
        if step is not None:
            step.action = step.action or action
            self.steps.append(step)

    def diff(self) -> t.Dict[str, t.Any]:
        """Ansible's before/after diff holding only what changes."""
        before: t.Dict[str, t.Any] = {}
        after: t.Dict[str, t.Any] = {}
        for change in self.changes:
            if change.path == "":
                before.update(change.before or {})
                after.update(change.after or {})
            else:
                _put(before, change.path, change.before)
                _put(after, change.path, change.after)
        return {
            "before": before,
            "after": after,
            "before_header": f"{self.kind} {self.name} (current)",
            "after_header": f"{self.kind} {self.name} (planned)",
        }

    def result(self, diff: bool = False) -> t.Dict[str, t.Any]:
        """Module result keys: changed, actions, reboot_required, the resource facts, diff."""
        out: t.Dict[str, t.Any] = {
            "changed": self.changed,
            "actions": list(self.actions),
            "reboot_required": self.reboot_required,
            self.kind: self.after if self.after is not None else {},
        }
        if diff:
            out["diff"] = self.diff()
        return out


def _put(target: t.Dict[str, t.Any], path: str, value: t.Any) -> None:
    # Paths are shown flat ("interfaces[mac=..].model"): readable and unambiguous in a diff.
    target[path] = value


def plan_resource(
    kind: str,
    name: str,
    desired: t.Optional[Spec],
    actual: t.Optional[Spec],
    running: bool = False,
) -> Plan:
    """Plan for one object: ``desired`` None means absent, ``actual`` None means it does not exist."""
    if desired is None:
        plan = Plan(kind, name, before=_facts(actual), after=None)
        if actual is not None:
            plan.add(f"delete {kind} {name}", Change("", _facts(actual), None, live=False))
        return plan
    if actual is None:
        facts = desired.to_dict()
        plan = Plan(kind, name, before=None, after=facts)
        plan.add(f"create {kind} {name}", Change("", None, facts))
        return plan
    desired = carry_over(desired, actual)
    changes = compare(desired, actual)
    plan = Plan(kind, name, before=actual.to_dict(), after=overlay(actual, desired).to_dict())
    if changes:
        plan.add(f"update {kind} {name}: {', '.join(c.path for c in changes)}", *changes)
        plan.reboot_required = running and any(not c.live for c in changes)
    return plan


def _facts(spec: t.Optional[Spec]) -> t.Optional[t.Dict[str, t.Any]]:
    return None if spec is None else spec.to_dict()


def compare(desired: Spec, actual: t.Optional[Spec]) -> t.List[Change]:
    """Differences for the fields set in ``desired``; ``actual`` None compares against nothing."""
    return _compare(desired, actual, _At())


def _compare(desired: Spec, actual: t.Optional[Spec], at: _At) -> t.List[Change]:
    changes: t.List[Change] = []
    for fld in dataclasses.fields(desired):
        want = getattr(desired, fld.name)
        if want is None or fld.metadata.get("generated"):
            continue
        have = None if actual is None else getattr(actual, fld.name)
        here = at.child(fld.name)
        live = bool(fld.metadata.get("live"))
        if isinstance(want, Spec):
            changes.extend(_compare(want, have if have is not None else type(want).absent(), here))
        elif isinstance(want, list) and fld.metadata.get("spec") is not None:
            changes.extend(_compare_items(fld, want, have or [], here, live))
        elif fld.metadata.get("secret"):
            # Secrets cannot be read back from libvirt for comparison; a set secret whose
            # current value is unknown is applied, and is shown masked.
            if want != have:
                changes.append(here.change(SECRET_MASK if have else None, SECRET_MASK, live))
        elif not _same_value(want, have, bool(fld.metadata.get("unordered"))):
            changes.append(here.change(facts_of(have), facts_of(want), live))
    return changes


def _same_value(want: t.Any, have: t.Any, unordered: bool) -> bool:
    if unordered and isinstance(want, list) and isinstance(have, list):
        return sorted(map(repr, want)) == sorted(map(repr, have))
    return bool(want == have)


def _compare_items(
    fld: dataclasses.Field,
    want: t.List[Spec],
    have: t.List[Spec],
    at: _At,
    live: bool,
) -> t.List[Change]:
    item_cls = fld.metadata["spec"]
    if not item_cls.IDENTITY:
        # Items without identity (boot order entries...) form one value, compared as a whole.
        projected = [_project(a, w) for w, a in zip(want, have)] + [a.to_dict() for a in have[len(want) :]]
        wanted = [w.to_dict() for w in want]
        return [] if wanted == projected else [at.change(projected, wanted, live)]
    changes: t.List[Change] = []
    for index, (w, a) in enumerate(match_items(want, have)):
        if w is None and a is not None:
            if fld.metadata.get("extra") != "keep":
                changes.append(at.element(a.label()).change(a.to_dict(), None, live))
        elif w is not None and a is None:
            changes.append(at.element(w.label() or f"+{index}").change(None, w.to_dict(), live))
        elif w is not None:
            changes.extend(_compare(w, a, at.element(w.label())))
    return changes


def _project(actual: Spec, desired: Spec) -> t.Dict[str, t.Any]:
    facts = actual.to_dict()
    wanted = desired.to_dict()
    return {k: v for k, v in facts.items() if k in wanted}


def match_items(
    want: t.Sequence[SpecT], have: t.Sequence[SpecT]
) -> t.List[t.Tuple[t.Optional[SpecT], t.Optional[SpecT]]]:
    """Pair desired and actual items by identity, then by fallback identity; unpaired get None."""
    pairs: t.List[t.Tuple[t.Optional[SpecT], t.Optional[SpecT]]] = []
    free = list(have)
    pending: t.List[SpecT] = []
    for w in want:
        key = w.identity()
        found = next((a for a in free if key is not None and a.identity() == key), None)
        if found is not None:
            free.remove(found)
            pairs.append((w, found))
        elif key is None and w.FALLBACK_IDENTITY:
            pending.append(w)
        else:
            pairs.append((w, None))
    for w in pending:
        key = w.fallback_identity()
        found = next((a for a in free if a.fallback_identity() == key), None)
        if found is not None:
            free.remove(found)
        pairs.append((w, found))
    pairs.extend((None, a) for a in free)
    return pairs


def carry_over(desired: SpecT, actual: t.Optional[SpecT]) -> SpecT:
    """A copy of ``desired`` with libvirt-generated fields filled from ``actual`` where unset."""
    if actual is None:
        return desired
    values: t.Dict[str, t.Any] = {}
    for fld in dataclasses.fields(desired):
        want = getattr(desired, fld.name)
        have = getattr(actual, fld.name)
        if want is None and fld.metadata.get("generated"):
            values[fld.name] = have
        elif isinstance(want, Spec) and isinstance(have, Spec):
            values[fld.name] = carry_over(want, have)
        elif isinstance(want, list) and fld.metadata.get("spec") is not None and fld.metadata["spec"].IDENTITY:
            values[fld.name] = [carry_over(w, a) for w, a in match_items(want, have or []) if w is not None]
        else:
            values[fld.name] = want
    return dataclasses.replace(desired, **values)


def over_xml(
    desired: XmlSpecT,
    xml: t.Optional[str],
    kind: str,
    parse: t.Optional[t.Callable[[str, str], XmlSpecT]] = None,
) -> XmlSpecT:
    """The ``xml`` escape hatch: its object is the base and the structured options override it.

    The one merge of every module with an ``xml`` option. The XML must name the same object as the
    ``name`` option, give the name when the option is unset, or leave it to the option; the merged
    declaration is validated again, as the options alone were. ``parse`` reads the XML (default: the
    spec's ``from_xml``).
    """
    if not xml:
        return desired
    base = (parse or type(desired).from_xml)(xml, "xml")
    name, named = getattr(desired, "name", None), getattr(base, "name", None)
    if name is not None and named is not None and named != name:
        raise SpecError("xml", f"names {kind} {named!r} but the name option is {name!r}")
    merged = overlay(base, desired)
    merged.validate("")
    return merged


def overlay(actual: SpecT, desired: SpecT) -> SpecT:
    """The predicted object after applying ``desired`` to ``actual``: set fields win."""
    values: t.Dict[str, t.Any] = {}
    for fld in dataclasses.fields(actual):
        want = getattr(desired, fld.name)
        have = getattr(actual, fld.name)
        if want is None:
            values[fld.name] = have
        elif isinstance(want, Spec) and isinstance(have, Spec):
            values[fld.name] = overlay(have, want)
        elif isinstance(want, list) and fld.metadata.get("spec") is not None and fld.metadata["spec"].IDENTITY:
            keep = fld.metadata.get("extra") == "keep"
            merged = []
            for w, a in match_items(want, have or []):
                if w is not None:
                    merged.append(w if a is None else overlay(a, w))
                elif keep and a is not None:
                    merged.append(a)
            values[fld.name] = merged
        else:
            values[fld.name] = want
    return dataclasses.replace(actual, **values)
