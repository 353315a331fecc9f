# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every module (set once with module_defaults on group/sharedvirt.kvm.libvirt).
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - The libvirt connection URI of the hypervisor, for example V(qemu:///system),
        V(qemu+ssh://root@host1/system) or V(qemu+tcp://10.0.0.11/system).
      - When not set, the environment variable E(LIBVIRT_DEFAULT_URI) on the host that runs the task is used,
        and then V(qemu:///system).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the connection to open before failing with the URI named in the message.
      - Open connections send keepalives, so a dead peer is noticed within about 20 seconds.
    type: int
    default: 30
requirements:
  - libvirt-python >= 9.0 on the host that runs the task
"""

    # Modules whose "in use" and "running" checks must see the whole cluster.
    PEERS = r"""
options:
  peers:
    description:
      - libvirt URIs of the other hypervisors that see the same storage (the cluster's hypervisors; the
        task's own O(uri) may be among them). Every check of whether something is in use or running asks
        each of them too, and an error names the hypervisor where the user was found.
      - A check that asks only the task's own hypervisor cannot see a domain on another host that uses a
        shared disk; give the peers whenever the storage is shared.
    type: list
    elements: str
    default: []
"""

    # Modules whose calls can wait on a storage server.
    STORAGE_TIMEOUT = r"""
options:
  timeout:
    description:
      - Seconds any storage operation that can wait on a storage server (pool start, build and refresh, volume
        create, upload, download, resize, wipe and delete, listing a pool's volumes) may take. A server that does
        not answer (NFS, Gluster, Ceph, iSCSI) fails the task with C(storage <name> did not answer within N s)
        instead of hanging it; the operation may still finish later, and the next run sees where it stands.
    type: int
    default: 120
"""

    # The same options for lookup and inventory plugins, which run on the controller.
    PLUGINS = r"""
options:
  uri:
    description:
      - The libvirt connection URIs of the hypervisors, for example V(qemu+ssh://root@host1/system);
        one string or a list. A domain name is searched on all of them.
      - When not set, E(LIBVIRT_DEFAULT_URI) on the controller is used, and then V(qemu:///system).
    type: list
    elements: str
    env:
      - name: LIBVIRT_DEFAULT_URI
  connect_timeout:
    description:
      - Seconds to wait for each connection to open.
    type: int
    default: 30
requirements:
  - libvirt-python >= 9.0 on the Ansible controller
"""

    # Where addresses come from: shared by the vm_ip lookup and the inventory plugin.
    ADDRESSES = r"""
options:
  sources:
    description:
      - Where to look for addresses, in this order.
      - V(reservation) are static DHCP host entries of libvirt networks (known before the guest boots).
        V(lease) are the unexpired leases of libvirt's DHCP server, the newest per MAC and family.
        V(agent) asks the QEMU guest agent of a running domain (needs a read-write connection and the
        C(org.qemu.guest_agent.0) channel); loopback and link-local addresses are skipped.
        V(arp) reads the hypervisor's neighbour table, which also knows guests on plain host bridges
        whose DHCP server is elsewhere (for remote hypervisors, see the C(neighbours) option of the lookup and
        the inventory).
    type: list
    elements: str
    choices: [reservation, lease, agent, arp]
    default: [reservation, lease, agent, arp]
  family:
    description:
      - Which addresses to return. With V(any), IPv4 addresses come before IPv6 ones of the same NIC.
    type: str
    choices: [ipv4, ipv6, any]
    default: ipv4
"""

    # How plugins on the controller read a remote hypervisor's neighbour table and sweep its bridges.
    NEIGHBOURS = r"""
options:
  neighbours:
    description:
      - How the neighbour table of a remote hypervisor is read (a local URI always reads this host's own).
      - V(auto) - over SSH for SSH URIs (V(qemu+ssh://)), else through libvirt. V(ssh) - always over SSH; other
        URIs fail the V(arp) source with the reason. V(libvirt) - libvirt's ARP source, per running domain,
        without probing (it fails with C(wrong nlmsg len) on some kernels).
      - Over SSH the controller runs the collection's neighbour reader with C(python3) on the hypervisor, as the
        URI's user, with the URI's port, C(keyfile), C(known_hosts) and C(no_verify) - one call per hypervisor
        and read, the sweep of O(probe) included, its limits applied there.
    type: str
    choices: [auto, ssh, libvirt]
    default: auto
"""

    # The bounded sweep of a guest's bridge (vm_ip lookup, vm_ip_info module, inventory).
    PROBE = r"""
options:
  probe:
    description:
      - When the neighbour table does not know the MAC of a running guest, send one datagram to every address of
        the subnet of the bridge that NIC is on (only that bridge, at most O(probe_max_addresses) addresses,
        O(probe_rate) per second), then read the table again. The sweep runs on the hypervisor.
    type: bool
    default: false
  probe_rate:
    description: Datagrams per second during a probe.
    type: int
    default: 200
  probe_max_addresses:
    description: A bridge subnet with more addresses than this is not swept (the error says so).
    type: int
    default: 1024
"""
