#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: secret
short_description: Declare a libvirt secret (Ceph, iSCSI CHAP, volume encryption) and its value
version_added: 0.1.0
description:
  - Defines a libvirt secret identified by what it is for (O(usage_type) and O(usage_id)), and sets its value.
  - The value is never returned, shown in a diff or logged. New secrets are private, so libvirt does
    not reveal the value either.
  - The value of a non-private secret is compared and replaced when it differs. A private secret's
    value cannot be read back, so it is set when the secret is created, and replaced on later runs
    only with O(replace_value=true).
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows a changed value as a mask, never the value.
  idempotent:
    description: When run twice in a row, the second run reports no change.
    support: partial
    details:
      - O(replace_value=true) on a private secret sets the value on every run.
options:
  usage_type:
    description: What the secret is for.
    type: str
    choices: [ceph, iscsi, volume, tls, vtpm]
    required: true
  usage_id:
    description:
      - The usage name - the Ceph client name (V(client.libvirt)), the iSCSI target (CHAP), the volume path, or a name.
    type: str
    required: true
  uuid:
    description: UUID for a new secret; generated when unset.
    type: str
  description:
    description: Free-form description.
    type: str
  private:
    description: Whether libvirt refuses to reveal the value; new secrets default to V(true). Changing it recreates the secret and needs O(value).
    type: bool
  ephemeral:
    description: Whether the secret lives only in memory; new secrets default to V(false). Changing it recreates the secret and needs O(value).
    type: bool
  value:
    description: The secret value; never returned or logged.
    type: str
  value_encoding:
    description: V(base64) for values given in base64 (as C(ceph auth get-key) prints them), V(plain) for passwords.
    type: str
    choices: [plain, base64]
    default: plain
  replace_value:
    description: Set the value of an existing private secret (its current value cannot be compared, so this reports a change every run).
    type: bool
    default: false
  state:
    description:
      - V(present) defines the secret, V(absent) removes it.
      - Removing a secret that a pool or a domain still logs in with (CHAP, cephx, disk encryption, a vTPM)
        is refused unless O(force=true); the error names them.
    type: str
    choices: [present, absent]
    default: present
  force:
    description: Remove the secret even though pools or domains refer to it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The cephx key libvirt uses for RBD volumes
  sharedvirt.kvm.secret:
    usage_type: ceph
    usage_id: client.libvirt
    value: "{{ ceph_libvirt_key }}"
    value_encoding: base64
  register: ceph_secret

- name: CHAP password for an iSCSI target
  sharedvirt.kvm.secret:
    usage_type: iscsi
    usage_id: iqn.2024-01.example:storage
    value: "{{ chap_password }}"

- name: Rotate the CHAP password
  sharedvirt.kvm.secret:
    usage_type: iscsi
    usage_id: iqn.2024-01.example:storage
    value: "{{ new_chap_password }}"
    replace_value: true

- name: Remove it
  sharedvirt.kvm.secret:
    usage_type: iscsi
    usage_id: iqn.2024-01.example:storage
    state: absent
"""

RETURN = r"""
secret:
  description: The secret's definition (never its value); empty when absent.
  returned: always
  type: dict
  contains:
    uuid:
      description: UUID, to reference the secret from pools and disks.
      type: str
      sample: 2a5f9a8c-0e1b-4d2e-9c47-0f6d3c1b2a10
    usage_type:
      description: Usage type.
      type: str
      sample: ceph
    usage_id:
      description: Usage name.
      type: str
      sample: client.libvirt
    private:
      description: Whether libvirt hides the value.
      type: bool
      sample: true
    ephemeral:
      description: Whether the secret lives only in memory.
      type: bool
      sample: false
actions:
  description: What the task did (or would do), in words.
  returned: always
  type: list
  elements: str
  sample: ["create secret ceph client.libvirt", "set the value of secret ceph client.libvirt"]
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.module import run_secret

ARGUMENT_SPEC = {
    "usage_type": {"type": "str", "required": True, "choices": ["ceph", "iscsi", "volume", "tls", "vtpm"]},
    "usage_id": {"type": "str", "required": True},
    "uuid": {"type": "str"},
    "description": {"type": "str"},
    "private": {"type": "bool"},
    "ephemeral": {"type": "bool"},
    "value": {"type": "str", "no_log": True},
    "value_encoding": {"type": "str", "default": "plain", "choices": ["plain", "base64"]},
    "replace_value": {"type": "bool", "default": False},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "force": {"type": "bool", "default": False},
}


def main() -> None:
    module = LibvirtModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run(run_secret)


if __name__ == "__main__":
    main()
