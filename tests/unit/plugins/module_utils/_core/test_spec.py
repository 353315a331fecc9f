from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.mac import normalize_mac
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.names import validate_name
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.spec import SECRET_MASK, XmlSpec, option
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.units import from_libvirt, to_bytes
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import element, sub, text_of


@dataclasses.dataclass
class Port(XmlSpec):
    """A NIC-like device used to exercise the base classes."""

    IDENTITY = ("mac",)

    mac: t.Optional[str] = option(normalize=normalize_mac, generated=True)
    network: t.Optional[str] = option()

    @classmethod
    def from_element(cls, root: ET.Element) -> Port:
        mac = root.find("mac")
        source = root.find("source")
        return cls(
            mac=None if mac is None else normalize_mac(mac.get("address")),
            network=None if source is None else source.get("network"),
        )

    def to_element(self) -> ET.Element:
        root = element("interface", type="network")
        if self.mac:
            sub(root, "mac", address=self.mac)
        sub(root, "source", network=self.network)
        return root


@dataclasses.dataclass
class Box(XmlSpec):
    name: t.Optional[str] = option(normalize=lambda v, p: validate_name(v, p, "box"))
    memory: t.Optional[int] = option(normalize=lambda v, p: to_bytes(v, p, "MiB"))
    ports: t.Optional[t.List[Port]] = option(spec=Port, many=True)
    password: t.Optional[str] = option(secret=True)

    def validate(self, path: str) -> None:
        if self.memory is not None and self.memory < 1024**2:
            raise SpecError(f"{path}memory" if path else "memory", "must be at least 1MiB")

    @classmethod
    def from_element(cls, root: ET.Element) -> Box:
        mem = root.find("memory")
        return cls(
            name=text_of(root, "name"),
            memory=None if mem is None else from_libvirt(mem.text, mem.get("unit")),
            ports=[Port.from_element(i) for i in root.findall("devices/interface")],
        )

    def to_element(self) -> ET.Element:
        root = element("box")
        sub(root, "name", self.name)
        if self.memory is not None:
            sub(root, "memory", self.memory // 1024, unit="KiB")
        devices = sub(root, "devices")
        for port in self.ports or []:
            devices.append(port.to_element())
        return root


def test_from_params_normalises_every_level() -> None:
    box = Box.from_params({"name": "b1", "memory": "1G", "ports": [{"mac": "52-54-00-AA-BB-CC", "network": "n1"}]})
    assert box == Box(name="b1", memory=1024**3, ports=[Port(mac="52:54:00:aa:bb:cc", network="n1")], password=None)


def test_unset_options_stay_none() -> None:
    box = Box.from_params({"name": "b1"})
    assert box.memory is None and box.ports is None
    assert box.to_dict() == {"name": "b1"}


def test_empty_list_is_set_not_unset() -> None:
    assert Box.from_params({"ports": []}).ports == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ports": [{"mac": "zz"}]}, "ports[0].mac: 'zz' is not a MAC address"),
        ({"ports": [{}, {"mac": "1:2"}]}, "ports[1].mac: '1:2' is not a MAC address"),
        ({"ports": {"mac": "x"}}, "ports: expected a list, got dict"),
        ({"ports": ["eth0"]}, "ports[0]: expected a dictionary of options, got str"),
        ({"name": "a/b"}, "name: box name 'a/b' contains '/'"),
        ({"memory": "12Q"}, "memory: '12Q' has an unknown unit 'Q'"),
        ({"memory": 0}, "memory: must be at least 1MiB"),
    ],
)
def test_errors_name_the_option_path(params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(SpecError) as err:
        Box.from_params(params)
    assert str(err.value).startswith(message)


def test_secrets_are_masked_in_facts() -> None:
    box = Box.from_params({"name": "b", "password": "hunter2"})
    assert box.to_dict() == {"name": "b", "password": SECRET_MASK}
    assert box.to_dict(reveal_secrets=True)["password"] == "hunter2"


XML = """
<box>
  <name>b1</name>
  <memory unit='MiB'>512</memory>
  <devices>
    <interface type='network'><mac address='52:54:00:AA:BB:CC'/><source network='n1'/></interface>
    <interface type='network'><source network='n2'/></interface>
  </devices>
</box>
"""


def test_xml_round_trip() -> None:
    box = Box.from_xml(XML)
    assert box.memory == 512 * 1024**2
    assert [p.mac for p in box.ports or []] == ["52:54:00:aa:bb:cc", None]
    again = Box.from_xml(box.to_xml())
    assert again == box


def test_to_xml_is_indented_and_escaped() -> None:
    text = Box(name="a&b", memory=1024**2, ports=[]).to_xml()
    assert "<name>a&amp;b</name>" in text
    assert '\n  <memory unit="KiB">1024</memory>' in text


def test_identity_and_label() -> None:
    assert Port(mac="52:54:00:00:00:01").identity() == ("52:54:00:00:00:01",)
    assert Port(network="n1").identity() is None
    assert Port(mac="52:54:00:00:00:01").label() == "mac=52:54:00:00:00:01"
    assert Box().identity() is None


def test_bad_xml_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as err:
        Box.from_xml("<box><name>x</box>")
    assert str(err.value).startswith("xml: not well-formed XML: mismatched tag")
