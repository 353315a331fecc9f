"""The names of libvirt's domain states, as every module, lookup and the inventory report them (pure)."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

# virDomainState codes; "in shutdown" (virsh's word) is a guest on its way down, not the module's state: shutdown.
STATE_NAMES = {
    0: "nostate",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "in shutdown",
    5: "shutoff",
    6: "crashed",
    7: "pmsuspended",
}


def state_name(code: int) -> str:
    return STATE_NAMES.get(code, "nostate")
