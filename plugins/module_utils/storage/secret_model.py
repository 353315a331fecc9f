"""SecretSpec: a libvirt secret's definition (never its value), identified by its usage."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import dataclasses
import typing as t
import xml.etree.ElementTree as ET

from .._core.errors import SpecError
from .._core.spec import XmlSpec, choice, option
from .._core.xmlutil import element, sub, text_of, yes_no

# The element that names a secret's usage, per usage type.
USAGE_ELEMENTS = {"ceph": "name", "iscsi": "target", "volume": "volume", "tls": "name", "vtpm": "name"}


@dataclasses.dataclass
class SecretSpec(XmlSpec):
    """What a secret is for (usage type and id), whether it is private and ephemeral."""

    usage_type: t.Optional[str] = option(normalize=choice(tuple(USAGE_ELEMENTS)))
    usage_id: t.Optional[str] = option()
    uuid: t.Optional[str] = option(generated=True)
    description: t.Optional[str] = option()
    private: t.Optional[bool] = option()
    ephemeral: t.Optional[bool] = option()

    def validate(self, path: str) -> None:
        if not self.usage_type or not self.usage_id:
            raise SpecError("usage_id", "a secret needs usage_type and usage_id (what the secret is for)")

    @classmethod
    def from_element(cls, root: ET.Element) -> SecretSpec:
        usage = root.find("usage")
        kind = None if usage is None else usage.get("type")
        return cls(
            usage_type=kind,
            usage_id=None if usage is None or kind not in USAGE_ELEMENTS else text_of(usage, USAGE_ELEMENTS[kind]),
            uuid=text_of(root, "uuid"),
            description=text_of(root, "description"),
            private=bool(yes_no(root.get("private"))),
            ephemeral=bool(yes_no(root.get("ephemeral"))),
        )

    def to_element(self) -> ET.Element:
        root = element("secret", ephemeral=bool(self.ephemeral), private=bool(self.private))
        if self.uuid:
            sub(root, "uuid", self.uuid)
        if self.description is not None:
            sub(root, "description", self.description)
        usage = sub(root, "usage", type=self.usage_type)
        sub(usage, USAGE_ELEMENTS[self.usage_type or "ceph"], self.usage_id)
        return root
