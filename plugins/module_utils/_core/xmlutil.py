"""XML helpers over the standard library's ElementTree: parse with clear errors, build, print."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET

from .errors import SpecError

Element = ET.Element


def parse_xml(text: t.Union[str, bytes], path: str = "xml") -> ET.Element:
    """Parse text; a syntax error becomes a SpecError naming path and the position."""
    if isinstance(text, str) and "<!ENTITY" in text:
        # libvirt never uses entities; refusing them shuts out entity-expansion bombs.
        raise SpecError(path, "XML entity declarations are not accepted")
    try:
        return ET.fromstring(text)
    except ET.ParseError as err:
        raise SpecError(path, f"not well-formed XML: {err}") from None


def sub(parent: ET.Element, tag: str, text: t.Optional[t.Any] = None, **attrs: t.Any) -> ET.Element:
    """Append <tag attrs>text</tag> to parent; attributes whose value is None are left out."""
    child = ET.SubElement(parent, tag, {k.rstrip("_"): _xml_value(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        child.text = _xml_value(text)
    return child


def element(tag: str, text: t.Optional[t.Any] = None, **attrs: t.Any) -> ET.Element:
    """A new root element, with the same rules as :func:`sub`."""
    root = ET.Element(tag, {k.rstrip("_"): _xml_value(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        root.text = _xml_value(text)
    return root


def _xml_value(value: t.Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def yes_no(value: t.Optional[str]) -> t.Optional[bool]:
    """libvirt's yes/no (and on/off) attributes as booleans; None stays None."""
    if value is None:
        return None
    return value.strip().lower() in ("yes", "on", "true", "1")


def text_of(parent: ET.Element, path: str) -> t.Optional[str]:
    """Stripped text of the first element at path, or None."""
    found = parent.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def to_string(root: ET.Element) -> str:
    """Indented XML text (two spaces), the form shown in diffs and results."""
    copy = ET.fromstring(ET.tostring(root))
    _indent(copy, 0)
    return ET.tostring(copy, encoding="unicode")


def local_xml(root: ET.Element) -> str:
    """``root`` as text with its namespaces taken off: virDomainSetMetadata puts the element into the namespace
    it is given, and refuses one that declares it already."""
    copy = ET.fromstring(ET.tostring(root))
    for node in copy.iter():
        node.tag = node.tag.rsplit("}", 1)[-1]
        for key in [k for k in node.attrib if k.startswith("{")]:
            node.attrib[key.rsplit("}", 1)[-1]] = node.attrib.pop(key)
    return ET.tostring(copy, encoding="unicode")


def canonical(root: ET.Element) -> str:
    """C14N form without insignificant whitespace: equal for semantically equal documents."""
    return ET.canonicalize(ET.tostring(root, encoding="unicode"), strip_text=True)


def diff_form(root: ET.Element) -> str:
    """The document as diffs show it: children in tag order (stable, so devices of one kind keep theirs) and one
    serialisation, so that libvirt's XML and ours differ only where their content does."""
    copy = ET.fromstring(ET.tostring(root))
    for node in copy.iter():
        node[:] = sorted(node, key=lambda child: str(child.tag))
    for node in copy.iter():
        if len(node):
            node.text = None
        node.tail = None
    return to_string(copy)


def _indent(node: ET.Element, level: int) -> None:
    # ET.indent exists only from Python 3.9; targets may run 3.8.
    pad = "\n" + "  " * level
    children = list(node)
    if children:
        if not (node.text or "").strip():
            node.text = pad + "  "
        for child in children:
            _indent(child, level + 1)
            if not (child.tail or "").strip():
                child.tail = pad + "  "
        children[-1].tail = pad


def child(parent: ET.Element, tag: str) -> ET.Element:
    """The first <tag> child of parent, created when there is none."""
    found = parent.find(tag)
    return found if found is not None else sub(parent, tag)


def set_text(root: ET.Element, tag: str, value: t.Optional[str], after: t.Tuple[str, ...] = ()) -> None:
    """<tag>value</tag> in root (unless value is None), a new one placed after the ``after`` siblings."""
    if value is None:
        return
    node = root.find(tag)
    if node is None:
        node = ET.Element(tag)
        position = max([list(root).index(n) + 1 for n in root if n.tag in after] or [0])
        root.insert(position, node)
    node.text = value


def set_size(root: ET.Element, tag: str, size: int) -> None:
    """<tag unit='KiB'>size</tag> for a size in bytes."""
    node = child(root, tag)
    node.attrib = {"unit": "KiB"}
    node.text = str(size // 1024)


def toggle(parent: ET.Element, tag: str, present: bool) -> None:
    """An empty on/off child such as <shareable/>: there when ``present``, else gone."""
    node = parent.find(tag)
    if present and node is None:
        sub(parent, tag)
    elif not present and node is not None:
        parent.remove(node)


# Attributes that hold secrets in libvirt documents: display passwords (<graphics passwd=...>).
SECRET_ATTRIBUTES = ("passwd",)


def secrets_in_xml_options(params: t.Any) -> t.List[str]:
    """Every secret attribute value inside ``xml`` options, at any depth (``domains`` items carry their own)."""
    found: t.List[str] = []
    if isinstance(params, dict):
        for key, value in params.items():
            if key == "xml" and isinstance(value, str):
                found += _secret_attributes(value)
            else:
                found += secrets_in_xml_options(value)
    elif isinstance(params, list):
        for item in params:
            found += secrets_in_xml_options(item)
    return found


def _secret_attributes(text: str) -> t.List[str]:
    try:
        root = parse_xml(text)
    except SpecError:
        return []  # the option's own validation reports it (without echoing the document)
    return [v for node in root.iter() for k, v in node.attrib.items() if k in SECRET_ATTRIBUTES and v]
