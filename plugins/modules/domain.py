#!/usr/bin/python
# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain
short_description: Declare a KVM guest (libvirt domain) and its runtime state
version_added: 0.1.0
description:
  - Defines, changes, starts, stops and removes one libvirt domain from structured options in
    libvirt's own vocabulary, or from O(xml) through the same parse, normalise and compare path.
  - Only the options you set are compared with the domain's persistent definition; disks are matched
    by O(disks[].target), NICs by O(interfaces[].mac) (or, without a MAC, by what they plug into),
    never by position. Values libvirt generates (UUID, MACs, PCI addresses) are kept, so a second
    run reports nothing changed.
  - Changes are written to the persistent definition. On a running guest, what libvirt can change
    live is applied live too (balloon memory, vCPU count up to O(max_vcpus), vCPU and emulator
    pinning, title, description, metadata, hot-plug and unplug of disks and NICs, NIC link state);
    anything else sets RV(reboot_required).
  - Changing O(type), O(arch), O(machine) or O(firmware) of an existing domain needs it recreated,
    which happens only as O(recreate) allows.
  - One VM, one writer. Before it starts a domain, the module asks every hypervisor of O(peers) and
    refuses when the domain (by name, or by UUID under another name) runs on one of them, naming it. With
    O(remove_storage=owned), a volume that a domain on a peer uses is kept.
author:
  - sharedvirt.kvm contributors (@sharedvirt)
extends_documentation_fragment:
  - sharedvirt.kvm.connection
  - sharedvirt.kvm.connection.peers
  - sharedvirt.kvm.attributes
  - sharedvirt.kvm.attributes.actiongroup_libvirt
attributes:
  check_mode:
    support: full
    details:
      - Check mode returns the predicted domain and the same C(changed) as a real run. MACs that libvirt
        would generate for new NICs are not known in check mode.
  diff_mode:
    support: full
    details:
      - The diff shows the changed options, the state change, and the persistent XML before and after.
  idempotent:
    description: When run twice in a row, the second run reports no change.
    support: partial
    details:
      - O(state=restarted) and O(recreate=always) act on every run.
options:
  name:
    description:
      - Name of the domain. Letters, digits and C(. _ + -), at most 64 characters.
      - Required unless O(xml) names the domain.
    type: str
  state:
    description:
      - V(present) defines the domain and leaves it as it runs (or not).
      - V(running), V(paused) and V(shutdown) also bring it to that state and wait for it, within O(timeout).
      - V(shutdown) presses the ACPI power button, then asks the guest agent when the domain has one;
        after O(timeout) it fails, or powers the guest off when O(force=true).
      - V(restarted) shuts the guest down as V(shutdown) does and starts it again (or starts it when off);
        this also applies changes that needed a reboot.
      - V(absent) shuts a running domain down as V(shutdown) does (powered off only with O(force=true)) and
        undefines it. Its storage is kept unless O(remove_storage=owned); its UEFI variables and vTPM state
        are kept unless O(discard) names them, and a saved memory image, snapshot or checkpoint metadata stop
        the removal until O(discard) names them.
    type: str
    choices: [present, running, shutdown, paused, restarted, absent]
    default: present
  timeout:
    description:
      - Seconds to wait for a state change (shut down, start), and for a running guest to take a live device
        change (a guest whose QEMU does not answer fails the task after this long; the next run picks up).
    type: int
    default: 120
  force:
    description:
      - Power the guest off when it has not shut down within O(timeout) - with O(state=shutdown),
        V(restarted) and V(absent), and when O(recreate) recreates a running domain. Without it the task fails
        after O(timeout) and the guest keeps running.
    type: bool
    default: false
  allowed_paths:
    description:
      - Directories on the hypervisor, besides the directories of its storage pools, that the host files this task
        names may lie in. A file outside both is refused before anything changes.
      - The files are O(kernel), O(initrd), each O(disks[].source.file) and O(serial.path), declared through options
        or O(xml). Paths must be absolute and without V(..). Block devices (O(disks[].source.dev)) are not confined.
      - Kernels are usually kept in V(/var/lib/libvirt/boot), which is not a pool.
    type: list
    elements: str
    default: []
  autostart:
    description: Start the domain when libvirtd starts. Unset leaves it as it is.
    type: bool
  recreate:
    description:
      - What to do when an option that cannot change on an existing domain (O(type), O(arch), O(machine),
        O(firmware)) differs from the domain.
      - V(never) fails and explains; V(options-changed) shuts a running domain down (ACPI, then the guest
        agent, powered off only with O(force=true)), undefines and defines it again - keeping its disks, UEFI
        variables, vTPM state and snapshots - and starts it again if it ran; V(always) does that on every run.
      - A saved memory image or checkpoint metadata cannot come through a recreation; O(discard) must name them.
    type: str
    choices: [never, options-changed, always]
    default: never
  remove_storage:
    description:
      - With O(state=absent), V(owned) also deletes the storage volumes of the domain's disks that no other
        domain uses. Shareable, read-only and CD-ROM disks are never deleted. V(none) keeps all storage.
    type: str
    choices: [none, owned]
    default: none
  discard:
    description:
      - What the domain holds besides its disks that O(state=absent) or a recreation may drop. By default
        nothing goes - UEFI variables (V(nvram)) and the vTPM's state (V(tpm), keys sealed in it) stay on the
        host, and a saved memory image (V(managed_save)), V(snapshots) or V(checkpoints) metadata stop the task
        with an error naming them.
    type: list
    elements: str
    choices: [nvram, tpm, managed_save, snapshots, checkpoints]
    default: []
  overcommit:
    description:
      - Limits checked when this task starts the domain, over all running domains of the host plus this one.
    type: dict
    suboptions:
      vcpu_ratio:
        description: Most vCPUs per host CPU, for example V(4.0).
        type: float
      memory_ratio:
        description: Most guest memory per byte of host memory, for example V(1.5) with KSM and ballooning.
        type: float
      action:
        description: V(fail) refuses to start with the figures; V(warn) starts and warns.
        type: str
        choices: [fail, warn]
        default: fail
  xml:
    description:
      - A whole domain definition as an escape hatch. It is parsed into the same options, which it sets
        where the structured options are not given, and it is used as the starting document when the domain is created.
      - Only what the collection models is compared on later runs.
    type: str
  type:
    description:
      - Domain type; V(kvm) needs hardware virtualization, V(qemu) is TCG emulation.
      - A new domain without O(type) (and without one in O(xml)) gets what the hypervisor can run, as
        M(sharedvirt.kvm.host_info) reports it in C(domain_type) - V(kvm) where libvirt offers it and the
        CPU has VT-x/AMD-V, else V(qemu). An existing domain keeps its type unless O(type) is set.
    type: str
    choices: [kvm, qemu]
  title:
    description: Short title (escaped as text; changes apply live).
    type: str
  description:
    description: Free-form description (escaped as text; changes apply live).
    type: str
  metadata:
    description:
      - Key/value pairs kept in the collection's own XML namespace of the domain's metadata; used for
        groups and placement. Setting it replaces all keys (an empty dict removes them). Changes apply live.
    type: dict
  cluster:
    description:
      - How the cluster treats the VM, kept in the definition (a metadata namespace of its own, so every
        hypervisor that holds it reads the same policy). Only the fields given are compared and changed;
        changes apply live.
    type: dict
    suboptions:
      ha:
        description: Restart the VM on a surviving hypervisor when its host fails. Unset is V(false).
        type: bool
      priority:
        description: Restart order after a host failure, highest first, from 0 (the default) to 1000.
        type: int
      maintenance_policy:
        description:
          - What draining the VM's host for maintenance does with it when it runs. V(migrate) (the
            default) - live migration to another host; V(shutdown) - a clean shutdown, started again on restore;
            V(stay) - the drain is refused unless forced.
        type: str
        choices: [migrate, shutdown, stay]
      anti_affinity:
        description:
          - The VM's anti-affinity group - placement, rebalance and maintenance keep members on different hosts.
          - A C(anti_affinity) key in O(metadata) is read as well, when this is unset.
        type: str
      record_pool:
        description:
          - A storage pool on storage every hypervisor of the cluster sees, with the same name on each. The VM's
            definition, its host and whether it should run are kept there as the volume C(<name>.sharedvirt.xml),
            and every module that defines, starts, stops or moves the VM keeps it current - so that the VM can
            be restarted elsewhere when its host fails. O(state=absent) removes it.
        type: str
  memory:
    description: Memory at boot, with a unit (V(512MiB), V(2GiB)); a bare number means MiB.
    type: raw
  current_memory:
    description: The balloon target; at most O(memory). Changes apply live through the balloon driver.
    type: raw
  max_memory:
    description: Most memory a running guest can grow to with memory hot-plug (the guest needs NUMA cells).
    type: raw
  max_memory_slots:
    description: Hot-plug slots with O(max_memory).
    type: int
  vcpus:
    description: Active vCPUs. Up to O(max_vcpus) they are hot-plugged into a running guest.
    type: int
  max_vcpus:
    description: Most vCPUs the guest can have (changes need a reboot).
    type: int
  iothreads:
    description:
      - Number of IOThreads QEMU runs for disk I/O, numbered from 1; V(0) removes them. Changes need a reboot.
      - Pin them with O(cputune.iothreadpin).
    type: int
  cpu:
    description: Guest CPU.
    type: dict
    suboptions:
      mode:
        description: CPU mode, for example V(host-model), V(host-passthrough) (KVM only), V(maximum) or V(custom).
        type: str
      model:
        description: CPU model name with O(cpu.mode=custom), for example V(qemu64).
        type: str
      topology:
        description: Sockets, dies, cores and threads; their product is O(max_vcpus).
        type: dict
        suboptions:
          sockets:
            description: Sockets.
            type: int
          dies:
            description: Dies per socket.
            type: int
          cores:
            description: Cores per die.
            type: int
          threads:
            description: Threads per core.
            type: int
  cputune:
    description:
      - CPU affinity (pinning) of vCPUs, the emulator and IOThreads. Changes apply live, and QEMU's threads run where
        declared (the integration tests read each thread's affinity from C(/proc)).
    type: dict
    suboptions:
      vcpupin:
        description: vCPUs pinned to host CPUs; a vCPU no longer listed is unpinned.
        type: list
        elements: dict
        suboptions:
          vcpu:
            description: The vCPU number, from 0.
            type: int
            required: true
          cpuset:
            description: Host CPUs, for example V(0-1) or V(2,4).
            type: str
            required: true
      emulatorpin:
        description: Host CPUs for QEMU's emulator threads.
        type: str
      shares:
        description: The guest's CPU weight against other guests (cgroup C(cpu.shares); libvirt's default 1024).
        type: int
      period:
        description: CFS period of each vCPU, in microseconds (1000-1000000).
        type: int
      quota:
        description:
          - CPU time each vCPU may use per O(cputune.period), in microseconds; V(-1) for no limit. A quota of half
            the period caps each vCPU at half a host CPU.
        type: int
      emulator_period:
        description: CFS period of QEMU's emulator threads, in microseconds.
        type: int
      emulator_quota:
        description: CPU time of the emulator threads per O(cputune.emulator_period); V(-1) for no limit.
        type: int
      global_period:
        description: CFS period of the whole guest, in microseconds.
        type: int
      global_quota:
        description: CPU time of the whole guest per O(cputune.global_period); V(-1) for no limit.
        type: int
      iothreadpin:
        description:
          - IOThreads (O(iothreads)) pinned to host CPUs; an IOThread no longer listed is unpinned.
          - Disks use an IOThread with C(iothread) in their driver options (through O(xml)), else QEMU's main loop.
        type: list
        elements: dict
        suboptions:
          iothread:
            description: The IOThread number, from 1.
            type: int
            required: true
          cpuset:
            description: Host CPUs, for example V(1).
            type: str
            required: true
  memory_backing:
    description: How guest memory is backed.
    type: dict
    suboptions:
      hugepages:
        description: Back memory with huge pages (the host must have them reserved).
        type: bool
      nosharepages:
        description: Keep this guest's memory out of KSM page merging.
        type: bool
      locked:
        description:
          - Lock the guest's memory in host RAM, never swapped out - memory reserved for a guest that must not
            stall, such as a storage appliance. libvirt lifts QEMU's locked-memory limit to O(memtune.hard_limit),
            or removes it when there is none (libvirtd needs the right to do so). Applies at the next start.
        type: bool
  memtune:
    description:
      - Memory limits of the QEMU process (cgroup), with a unit (V(2GiB)); a bare number means KiB. Changes apply live.
      - A hard limit below what QEMU needs gets the guest killed by the kernel; leave headroom above O(memory).
    type: dict
    suboptions:
      hard_limit:
        description: Most memory the guest's QEMU may use.
        type: raw
      soft_limit:
        description: Memory the guest is pushed back to when the host is short of memory.
        type: raw
      swap_hard_limit:
        description: Most memory plus swap.
        type: raw
      min_guarantee:
        description: Memory guaranteed to the guest (libvirt supports it only for some hypervisors; QEMU refuses it).
        type: raw
  blkiotune:
    description:
      - Block I/O weight of the guest against other guests (cgroup). Changes apply live.
      - The kernel weighs I/O only under the BFQ scheduler; on a host without it a running guest's change fails
        with a hint, after the persistent definition took the weight.
    type: dict
    suboptions:
      weight:
        description: From 100 to 1000.
        type: int
  memballoon:
    description: Balloon device model, V(virtio) or V(none).
    type: str
  arch:
    description: Guest architecture; new domains default to V(x86_64).
    type: str
  machine:
    description: Machine type such as V(pc), V(q35) or a versioned one; V(pc) and V(q35) match libvirt's versioned names.
    type: str
  watchdog:
    description:
      - A hardware watchdog. A guest that opens it and stops feeding it (hung) gets O(watchdog.action) from QEMU -
        the way a cluster VM recovers from a hang without anyone watching. Adding or removing one takes effect
        at the next boot.
    type: dict
    suboptions:
      model:
        description: The device; V(i6300esb) (PCI, any x86 machine) is the usual choice, V(none) removes it.
        type: str
        choices: [i6300esb, ib700, diag288, itco, none]
      action:
        description: What QEMU does when it fires; V(reset) restarts the guest.
        type: str
        choices: [reset, shutdown, poweroff, pause, none, dump, inject-nmi]
  hyperv:
    description:
      - Hyper-V enlightenments for Windows guests (libvirt's C(features/hyperv)); unset ones are left as they are.
        Windows runs faster and keeps better time with V(relaxed), V(vapic), V(spinlocks), V(vpindex), V(synic),
        V(stimer) and V(frequencies). QEMU offers them with KVM; under TCG a guest with them may not start.
      - Changes take effect at the next boot.
    type: dict
    suboptions:
      relaxed:
        description: The C(hv-relaxed) enlightenment on or off.
        type: bool
      vapic:
        description: The C(hv-vapic) enlightenment on or off.
        type: bool
      vpindex:
        description: The C(hv-vpindex) enlightenment on or off.
        type: bool
      synic:
        description: The C(hv-synic) enlightenment on or off.
        type: bool
      stimer:
        description: The C(hv-stimer) enlightenment on or off.
        type: bool
      reset:
        description: The C(hv-reset) enlightenment on or off.
        type: bool
      frequencies:
        description: The C(hv-frequencies) enlightenment on or off.
        type: bool
      tlbflush:
        description: The C(hv-tlbflush) enlightenment on or off.
        type: bool
      ipi:
        description: The C(hv-ipi) enlightenment on or off.
        type: bool
      spinlocks:
        description: Retries before a spinning vCPU tells the hypervisor (at least 4095, usually 8191); V(0) for off.
        type: int
  clock:
    description: The guest's clock (changes at the next boot).
    type: dict
    suboptions:
      offset:
        description: V(localtime) for Windows, which keeps the hardware clock in local time; V(utc) otherwise.
        type: str
        choices: [utc, localtime]
      timers:
        description: Timers to set, by name; timers not listed are left as libvirt has them.
        type: list
        elements: dict
        suboptions:
          name:
            description: The timer; V(hypervclock) is the Hyper-V reference clock for Windows.
            type: str
            required: true
            choices: [rtc, pit, hpet, hypervclock, kvmclock, tsc]
          present:
            description: Whether the guest has the timer (Windows guests usually run with C(hpet) off).
            type: bool
          tickpolicy:
            description: What QEMU does with ticks the guest missed (V(catchup) for C(rtc), V(delay) for C(pit)).
            type: str
            choices: [delay, catchup, merge, discard]
  inputs:
    description:
      - Input devices the guest gets, such as a V(tablet) on USB - absolute pointing, so the VNC or SPICE cursor
        follows the mouse in Windows. Devices not listed (libvirt's PS/2 mouse and keyboard) stay. Changes take
        effect at the next boot.
    type: list
    elements: dict
    suboptions:
      type:
        description: The device.
        type: str
        required: true
        choices: [tablet, mouse, keyboard]
      bus:
        description: Its bus.
        type: str
        default: usb
        choices: [usb, ps2, virtio]
  video:
    description: The video card (changes at the next boot).
    type: dict
    suboptions:
      model:
        description: V(qxl) for SPICE desktops, V(vga) or V(virtio) otherwise, V(none) for no card.
        type: str
        choices: [vga, cirrus, qxl, virtio, bochs, ramfb, none]
      vram:
        description: Video memory in KiB.
        type: int
      heads:
        description: Number of screens.
        type: int
  tpm:
    description:
      - A virtual TPM (Windows 11 needs TPM 2.0). V(emulator) runs swtpm on the host and libvirt keeps its state
        (removing the domain keeps it unless O(discard) names V(tpm)); V(passthrough) gives the guest the host's TPM.
      - Changes take effect at the next boot.
    type: dict
    suboptions:
      model:
        description: The TPM interface; V(tpm-crb) for TPM 2.0.
        type: str
        default: tpm-crb
        choices: [tpm-crb, tpm-tis]
      backend:
        description: V(emulator) (swtpm) or V(passthrough).
        type: str
        default: emulator
        choices: [emulator, passthrough]
      version:
        description: The emulated TPM's version.
        type: str
        choices: ["2.0", "1.2"]
      device:
        description: With O(tpm.backend=passthrough), the host's TPM, such as V(/dev/tpm0).
        type: str
  firmware:
    description: V(bios) or V(efi); V(efi) lets libvirt pick the UEFI firmware and create the NVRAM store.
    type: str
    choices: [bios, efi]
  secure_boot:
    description:
      - With O(firmware=efi), whether libvirt picks a UEFI firmware with Secure Boot on and Microsoft's keys enrolled
        (V(true)) or one without Secure Boot (V(false)). Unset, libvirt picks, which is usually Secure Boot.
      - V(false) is what an unsigned kernel or a direct kernel boot (O(kernel)) needs. Without hardware
        virtualization (TCG) and with the qemu64 CPU model, Debian 12's Secure Boot firmware faults before it boots.
      - Changing it needs the domain recreated (O(recreate)); the UEFI variables were made from the other firmware's
        template, so add V(nvram) to O(discard) to start from the new one's.
    type: bool
  kernel:
    description: Kernel for direct kernel boot (a path on the hypervisor).
    type: str
  initrd:
    description: Initramfs for direct kernel boot.
    type: str
  cmdline:
    description: Kernel command line for direct kernel boot.
    type: str
  boot:
    description: Boot devices in order, for example V([hd, network]).
    type: list
    elements: str
  disks:
    description:
      - The domain's disks, CD-ROMs and LUNs, matched to the current ones by O(disks[].target). The list is
        complete - disks not listed are detached - except for disks that M(sharedvirt.kvm.shared_disk)
        attached. The domain records their targets (in metadata of the collection's own), and this module
        leaves them alone unless a listed disk names the same target.
      - Give exactly one source - O(disks[].source.file), O(disks[].source.dev), O(disks[].source.pool) with
        O(disks[].source.volume), or O(disks[].source.protocol) with O(disks[].source.name).
    type: list
    elements: dict
    suboptions:
      target:
        description: Device name in the guest, such as V(vda) or V(sdb); identifies the disk.
        type: str
        required: true
      bus:
        description: Bus.
        type: str
        choices: [virtio, scsi, sata, ide, usb, fdc]
      device:
        description: Device kind.
        type: str
        choices: [disk, cdrom, lun]
        default: disk
      source:
        description: Where the data is.
        type: dict
        suboptions:
          file:
            description: An image file.
            type: str
          dev:
            description: A block device.
            type: str
          pool:
            description: A storage pool (with O(disks[].source.volume)).
            type: str
          volume:
            description: A volume in O(disks[].source.pool).
            type: str
          protocol:
            description: A network protocol.
            type: str
            choices: [iscsi, rbd, nfs, gluster, nbd, http, https]
          name:
            description: Image, export path or C(IQN/LUN) on the network server.
            type: str
          hosts:
            description: Network servers.
            type: list
            elements: dict
            suboptions:
              name:
                description: Host name or address.
                type: str
              port:
                description: Port.
                type: int
          auth:
            description: Credentials kept in a libvirt secret.
            type: dict
            suboptions:
              username:
                description: User name.
                type: str
              secret:
                description: The libvirt secret.
                type: dict
                suboptions:
                  type:
                    description: Secret type, V(iscsi) or V(ceph).
                    type: str
                  usage:
                    description: Secret usage name.
                    type: str
                  uuid:
                    description: Secret UUID.
                    type: str
      format:
        description: Image format (driver type), for example V(raw) or V(qcow2).
        type: str
      cache:
        description: Cache mode; shared disks need V(none) or V(directsync).
        type: str
        choices: [none, writethrough, writeback, directsync, unsafe, default]
      io:
        description: I/O mode; V(native) needs O(disks[].cache=none) or V(directsync).
        type: str
        choices: [native, threads, io_uring]
      discard:
        description: Pass discard (TRIM) requests to the image, or ignore them.
        type: str
        choices: [unmap, ignore]
      serial:
        description: Serial number the guest sees.
        type: str
      wwn:
        description: World wide name (16 hex digits) the guest sees.
        type: str
      readonly:
        description: Read-only disk.
        type: bool
      shareable:
        description:
          - The disk may be used by several domains at once. The same rules as M(sharedvirt.kvm.shared_disk)
            apply, with the same errors - O(disks[].format) raw (or unset) and O(disks[].cache) V(none) or
            V(directsync). Prefer M(sharedvirt.kvm.shared_disk), which also checks the other domains.
        type: bool
      iotune:
        description:
          - I/O throttling of the disk in QEMU. A total limit and read/write limits of the same kind exclude each
            other. Changes apply live; unset limits are not compared.
        type: dict
        suboptions:
          total_bytes_sec:
            description: Limit of reads and writes together, in bytes per second, with a unit (V(2MiB) is 2 MiB/s); V(0) for none.
            type: raw
          total_bytes_sec_max:
            description: Burst above O(disks[].iotune.total_bytes_sec), same unit.
            type: raw
          total_bytes_sec_max_length:
            description: Seconds the burst of O(disks[].iotune.total_bytes_sec_max) may last.
            type: int
          read_bytes_sec:
            description: Limit of reads, in bytes per second, with a unit (V(2MiB) is 2 MiB/s); V(0) for none.
            type: raw
          read_bytes_sec_max:
            description: Burst above O(disks[].iotune.read_bytes_sec), same unit.
            type: raw
          read_bytes_sec_max_length:
            description: Seconds the burst of O(disks[].iotune.read_bytes_sec_max) may last.
            type: int
          write_bytes_sec:
            description: Limit of writes, in bytes per second, with a unit (V(2MiB) is 2 MiB/s); V(0) for none.
            type: raw
          write_bytes_sec_max:
            description: Burst above O(disks[].iotune.write_bytes_sec), same unit.
            type: raw
          write_bytes_sec_max_length:
            description: Seconds the burst of O(disks[].iotune.write_bytes_sec_max) may last.
            type: int
          total_iops_sec:
            description: Limit of reads and writes together, in operations per second; V(0) for none.
            type: int
          total_iops_sec_max:
            description: Burst above O(disks[].iotune.total_iops_sec), same unit.
            type: int
          total_iops_sec_max_length:
            description: Seconds the burst of O(disks[].iotune.total_iops_sec_max) may last.
            type: int
          read_iops_sec:
            description: Limit of reads, in operations per second; V(0) for none.
            type: int
          read_iops_sec_max:
            description: Burst above O(disks[].iotune.read_iops_sec), same unit.
            type: int
          read_iops_sec_max_length:
            description: Seconds the burst of O(disks[].iotune.read_iops_sec_max) may last.
            type: int
          write_iops_sec:
            description: Limit of writes, in operations per second; V(0) for none.
            type: int
          write_iops_sec_max:
            description: Burst above O(disks[].iotune.write_iops_sec), same unit.
            type: int
          write_iops_sec_max_length:
            description: Seconds the burst of O(disks[].iotune.write_iops_sec_max) may last.
            type: int
  hostdevs:
    description:
      - Host devices given to the guest; the list is complete (devices not listed are taken away at the next
        boot). Changes take effect at the next boot.
      - Each device must exist on the hypervisor (libvirt's node devices); the error lists the PCI devices it has,
        as C(lspci -Dnn) shows them, or its USB devices.
    type: list
    elements: dict
    suboptions:
      type:
        description: V(pci), V(usb) or V(mdev) (a mediated device, such as a vGPU slice).
        type: str
        default: pci
        choices: [pci, usb, mdev]
      address:
        description:
          - V(pci) - the PCI address as C(lspci -D) shows it, V(0000:03:00.1). V(usb) - vendor and product,
            V(046d:c52b) (C(lsusb)). V(mdev) - the device's UUID (C(mdevctl list)).
        type: str
        required: true
      managed:
        description: For V(pci) and V(usb), libvirt detaches the device from its host driver at start and gives it back at stop (default V(true)).
        type: bool
      model:
        description: A mediated device's API, V(vfio-pci) for vGPUs.
        type: str
        choices: [vfio-pci, vfio-ccw, vfio-ap]
  interfaces:
    description:
      - The domain's NICs; the list is complete (NICs not listed are detached).
    type: list
    elements: dict
    suboptions:
      mac:
        description: MAC address in any case and common format (V(52-54-00-AA-BB-CC), V(5254.00aa.bbcc)); generated when unset.
        type: str
      source:
        description: What the NIC plugs into; exactly one of network, bridge or dev.
        type: dict
        required: true
        suboptions:
          network:
            description: A libvirt network.
            type: str
          portgroup:
            description: A portgroup of that network (for example a VLAN of an Open vSwitch network).
            type: str
          bridge:
            description: A host bridge (Linux or Open vSwitch).
            type: str
          dev:
            description: A host NIC for direct (macvtap) attachment.
            type: str
          mode:
            description: Direct attachment mode.
            type: str
            choices: [bridge, vepa, private, passthrough]
          hostdev:
            description:
              - An SR-IOV virtual function given to the guest, by its PCI address as C(lspci -D) shows it (V(0000:03:10.1));
                libvirt detaches it from the host driver at start (C(managed)). Its VLAN is O(interfaces[].vlan).
              - The function must exist on the hypervisor; the error lists what it has.
            type: str
      model:
        description: NIC model, for example V(virtio) or V(e1000).
        type: str
      virtualport:
        description: Virtual port type; V(openvswitch) for an Open vSwitch bridge.
        type: str
        choices: [openvswitch, 802.1Qbh, 802.1Qbg]
      vlan:
        description: Access VLAN.
        type: dict
        suboptions:
          tag:
            description: VLAN ID, 1-4094.
            type: int
      link_state:
        description: Link state seen by the guest; changes apply live.
        type: str
        choices: [up, down]
  graphics:
    description: Displays; the list is complete.
    type: list
    elements: dict
    suboptions:
      type:
        description: Display protocol.
        type: str
        choices: [vnc, spice]
        required: true
      listen:
        description: Address to listen on, for example V(127.0.0.1).
        type: str
      port:
        description: Port; unset or V(-1) picks a free one.
        type: int
      password:
        description: Display password; never shown in results or diffs.
        type: str
  serial:
    description: The first serial port and console.
    type: dict
    suboptions:
      type:
        description: V(pty) or V(file).
        type: str
        choices: [pty, file]
        default: pty
      path:
        description: Log file with O(serial.type=file) (appended, so it survives migration).
        type: str
  lease:
    description:
      - The hypervisors' shared lock directory (on storage every hypervisor of the cluster sees, the
        P(sharedvirt.kvm.hypervisor#role) role's C(hypervisor_lockspace_dir)). The domain gets a lock manager
        lease there (lockspace C(sharedvirt), key = its name), so with libvirt's C(lockd) lock manager a second
        hypervisor cannot start it while one runs it - whatever its disks are. Network disks (RBD, iSCSI, NFS or
        Gluster through QEMU) are covered by nothing else; see C(docs/shared-storage-safety.md).
      - virtlockd knows only the lockspaces of its configuration, so the directory must be the one the
        hypervisors were configured with (C(file_lockspace_dir) = this directory + C(/sharedvirt)).
      - The lease file is created when the domain starts on this machine (a local URI); for a remote URI create
        C(<lease>/sharedvirt/<name>) beforehand. V('') removes the lease. A change applies at the next start.
    type: path
  guest_agent:
    description: Give the guest the QEMU guest agent channel.
    type: bool
notes:
  - Runs where libvirt-python can reach O(uri); connections are read-write, since comparing display
    passwords needs the secure XML.
seealso:
  - module: sharedvirt.kvm.domain_info
"""

EXAMPLES = r"""
- name: A small guest on an isolated network, running
  sharedvirt.kvm.domain:
    name: web1
    type: qemu
    memory: 1GiB
    vcpus: 2
    disks:
      - target: vda
        bus: virtio
        format: qcow2
        source: {pool: images, volume: web1.qcow2}
    interfaces:
      - source: {network: lab}
        model: virtio
    guest_agent: true
    metadata: {group: web, tier: front}
    state: running

- name: Pin vCPUs and balloon memory down on the running guest (applied live)
  sharedvirt.kvm.domain:
    name: web1
    current_memory: 768MiB
    cputune:
      vcpupin:
        - {vcpu: 0, cpuset: "0"}
        - {vcpu: 1, cpuset: "1"}
      emulatorpin: "0-1"

- name: Attach to an Open vSwitch bridge on VLAN 10, MAC in any spelling
  sharedvirt.kvm.domain:
    name: web1
    interfaces:
      - mac: 52-54-00-FA-61-75
        source: {bridge: ovsbr0}
        virtualport: openvswitch
        vlan: {tag: 10}

- name: Shut it down gracefully, power off after two minutes
  sharedvirt.kvm.domain:
    name: web1
    state: shutdown
    timeout: 120
    force: true

- name: Remove it and the volumes only it used
  sharedvirt.kvm.domain:
    name: web1
    state: absent
    remove_storage: owned
"""

RETURN = r"""
domain:
  description: The domain as it is after the task (in check mode, as it is predicted to be).
  returned: always
  type: dict
  contains:
    name:
      description: Name.
      type: str
      sample: web1
    uuid:
      description: UUID (unknown in check mode for a new domain).
      type: str
      sample: 4dea22b3-1d52-d8f3-2516-782e98ab3fa0
    state:
      description: Runtime state (V(running), V(paused), V(shutoff), V(undefined) after removal).
      type: str
      sample: running
    persistent:
      description: Whether a persistent definition exists.
      type: bool
      sample: true
    autostart:
      description: Whether libvirtd starts it.
      type: bool
      sample: false
    memory:
      description: Memory at boot, bytes.
      type: int
      sample: 1073741824
    current_memory:
      description: Balloon target, bytes.
      type: int
      sample: 805306368
    vcpus:
      description: Active vCPUs.
      type: int
      sample: 2
    max_vcpus:
      description: Most vCPUs.
      type: int
      sample: 2
    disks:
      description: Disks with target, bus, source, format and flags.
      type: list
      elements: dict
      sample: [{"target": "vda", "bus": "virtio", "source": {"pool": "images", "volume": "web1.qcow2"}}]
    interfaces:
      description: NICs with their MACs and sources.
      type: list
      elements: dict
      sample: [{"mac": "52:54:00:fa:61:75", "source": {"network": "lab"}, "model": "virtio"}]
    metadata:
      description: The collection's key/value metadata.
      type: dict
      sample: {"group": "web"}
actions:
  description: What the task did (or would do in check mode), in words.
  returned: always
  type: list
  elements: str
  sample: ["update domain web1: current_memory", "set live memory of web1 to 805306368 bytes"]
reboot_required:
  description: True when the persistent definition changed in a way the running guest only picks up after a restart.
  returned: always
  type: bool
  sample: false
removed_storage:
  description: Paths of volumes deleted with O(remove_storage=owned).
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.args import PEERS
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.module import LibvirtModule
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.args import DOMAIN_ARGUMENT_SPEC
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.module import run_domain

ARGUMENT_SPEC = dict(DOMAIN_ARGUMENT_SPEC, peers=PEERS)


def main() -> None:
    module = LibvirtModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_one_of=[("name", "xml")])
    module.run(run_domain)


if __name__ == "__main__":
    main()
