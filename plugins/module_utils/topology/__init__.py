"""Topology: one picture of several hypervisors - their VMs, networks, bridges, pools and shared disks."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
