from __future__ import annotations

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.plan import compare
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import parse_xml
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.single_devices_model import WatchdogSpec

PLAIN = "<domain><name>vm</name><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>"


def declared(**watchdog: str) -> DomainSpec:
    return DomainSpec.from_params({"name": "vm", "watchdog": watchdog})


def test_a_watchdog_is_added_changed_and_removed_through_the_definition() -> None:
    wanted = declared(model="i6300esb", action="reset")
    changes = compare(wanted, DomainSpec.from_xml(PLAIN))
    assert [(c.field, c.sub) for c in changes] == [("watchdog", "model"), ("watchdog", "action")]
    added = wanted.render(parse_xml(PLAIN))
    element = added.find("devices/watchdog")
    assert element is not None and element.attrib == {"model": "i6300esb", "action": "reset"}
    assert compare(wanted, DomainSpec.from_element(added)) == []

    paused = declared(action="pause").render(added)
    assert DomainSpec.from_element(paused).watchdog == WatchdogSpec("i6300esb", "pause")  # the model stays

    gone = declared(model="none").render(paused)
    assert gone.find("devices/watchdog") is None
    assert DomainSpec.from_element(gone).watchdog == WatchdogSpec("none")
    assert compare(declared(model="none"), DomainSpec.from_xml(PLAIN)) == []  # none: nothing to remove
