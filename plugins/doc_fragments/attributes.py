# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Every module: supports check mode and diff honestly, runs on the hypervisor host.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
"""

    # Modules of the action group sharedvirt.kvm.libvirt (module_defaults can set uri once).
    ACTIONGROUP_LIBVIRT = r"""
attributes:
  action_group:
    description: Use C(group/sharedvirt.kvm.libvirt) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - sharedvirt.kvm.libvirt
"""

    # Read-only *_info modules.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""
