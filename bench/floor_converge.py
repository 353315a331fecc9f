"""The libvirt-python floor of scenario 1: the calls a converging tool makes, nothing else.

Usage: floor_converge.py XML_DIR -- per domain: look it up (define it from its XML when missing),
read its inactive XML for comparison, start it when it is not running.
"""

from __future__ import annotations

import sys
from pathlib import Path

import libvirt


def main(xml_dir: str) -> None:
    conn = libvirt.open("qemu:///system")
    for path in sorted(Path(xml_dir).glob("*.xml")):
        try:
            dom = conn.lookupByName(path.stem)
        except libvirt.libvirtError:
            dom = conn.defineXML(path.read_text())
        dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        if not dom.isActive():
            dom.create()
    conn.close()


if __name__ == "__main__":
    main(sys.argv[1])
