"""Moving a disk of a domain to another pool: live (block copy and pivot) or while it is stopped."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
