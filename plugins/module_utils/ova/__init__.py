"""OVA import: the disks of an OVF package into a pool, and a domain declaration read from its OVF."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
