from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import (
    canonical,
    diff_form,
    element,
    parse_xml,
    sub,
    text_of,
    to_string,
    yes_no,
)


def test_sub_skips_none_attributes_and_renders_booleans() -> None:
    root = element("disk", type="file", device=None)
    sub(root, "readonly")
    sub(root, "driver", name="qemu", cache=None, discard="unmap")
    sub(root, "shareable_flag", True)
    assert to_string(root) == (
        '<disk type="file">\n  <readonly />\n  <driver name="qemu" discard="unmap" />\n'
        "  <shareable_flag>yes</shareable_flag>\n</disk>"
    )


def test_trailing_underscore_allows_python_keywords() -> None:
    assert element("x", class_="a").get("class") == "a"


def test_canonical_ignores_attribute_order_and_whitespace() -> None:
    a = parse_xml("<a x='1' y='2'>\n  <b>t</b>\n</a>")
    b = parse_xml('<a y="2" x="1"><b>t</b></a>')
    assert canonical(a) == canonical(b)
    assert canonical(a) != canonical(parse_xml("<a x='1' y='3'><b>t</b></a>"))


@pytest.mark.parametrize(
    ("text", "expected"), [("yes", True), ("on", True), ("no", False), ("off", False), (None, None)]
)
def test_yes_no(text: str | None, expected: bool | None) -> None:
    assert yes_no(text) is expected


def test_text_of() -> None:
    root = parse_xml("<a><b> x </b><c/></a>")
    assert text_of(root, "b") == "x"
    assert text_of(root, "c") is None
    assert text_of(root, "d") is None


def test_entities_are_refused() -> None:
    with pytest.raises(SpecError) as err:
        parse_xml('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', "domain.xml")
    assert str(err.value) == "domain.xml: XML entity declarations are not accepted"


def test_passwords_inside_xml_options_are_found_at_any_depth() -> None:
    from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import secrets_in_xml_options

    one = "<domain><devices><graphics type='vnc' passwd='top-s3cret'/></devices></domain>"
    two = "<domain><devices><graphics type='spice' passwd='other-s3cret'/></devices></domain>"
    params = {"xml": one, "domains": [{"name": "a", "xml": two}, {"name": "b"}], "title": "passwd='x'"}
    assert sorted(secrets_in_xml_options(params)) == ["other-s3cret", "top-s3cret"]
    assert secrets_in_xml_options({"xml": "<not closed"}) == []


def test_diff_form_is_the_same_for_the_same_content_in_any_order_quoting_or_layout() -> None:
    libvirts = "<domain type='kvm'>\n  <vcpu>1</vcpu>\n  <devices><interface type='network'><source network='a'/>"
    libvirts += "<model type='virtio'/></interface><disk device='disk'><target dev='vda'/></disk>"
    libvirts += "<disk device='disk'><target dev='vdb'/></disk></devices></domain>"
    ours = '<domain type="kvm"><devices><disk device="disk"><target dev="vda" /></disk><interface type="network">'
    ours += '<model type="virtio" /><source network="a" /></interface><disk device="disk"><target dev="vdb" />'
    ours += "</disk></devices><vcpu>1</vcpu></domain>"
    assert diff_form(parse_xml(libvirts)) == diff_form(parse_xml(ours))
    # Disks keep their own order (vda before vdb): only kinds of elements are sorted.
    shown = diff_form(parse_xml(ours))
    assert shown.index('"vda"') < shown.index('"vdb"') and shown.index("<devices>") < shown.index("<vcpu>")
