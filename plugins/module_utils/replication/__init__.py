"""Replication of a domain to a second hypervisor: incremental backups shipped and applied there, and failover."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
