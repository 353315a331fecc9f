"""The storage appliance's own report of its state (role, mirrors), read through its guest agent."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
