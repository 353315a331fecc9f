"""The volume module on the real libvirtd: thin/full, grow/shrink, clones that boot, uploads, safety."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import typing as t
from pathlib import Path

import pytest
from testbed.agent import agent, guest_read
from testbed.ansible import kill_tree, run_playbook, start_playbook
from testbed.lab import Lab
from testbed.modules import ladder, run_module
from testbed.params import guest_params, serial_path_of
from testbed.wait import wait_for

from ansible_collections.sharedvirt.kvm.plugins.module_utils.storage.usage_client import UsageReader
from ansible_collections.sharedvirt.kvm.plugins.modules import domain, pool, pool_info, volume, volume_info, volumes

URI = "qemu:///system"
MIB = 2**20


def dir_pool(lab: Lab, suffix: str = "vp") -> tuple[str, Path]:
    name = f"{lab.prefix}-{suffix}"
    path = Path("/var/tmp/sharedvirt-kvm") / name
    lab.pools.append(name)
    lab.files.append(path)
    result = run_module(pool, {"uri": URI, "name": name, "type": "dir", "target": {"path": str(path)}})
    assert not result.get("failed"), result.get("msg")
    return name, path


def vol(pool_name: str, name: str, **extra: t.Any) -> dict[str, t.Any]:
    return {"uri": URI, "pool": pool_name, "name": name, **extra}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_grow_shrink_and_delete(lab: Lab) -> None:
    p, path = dir_pool(lab)
    thin = ladder(volume, vol(p, "thin.raw", format="raw", capacity="64MiB"))
    assert thin[2]["volume"]["capacity"] == 64 * MIB and thin[2]["volume"]["allocation"] < MIB
    full = ladder(volume, vol(p, "full.raw", format="raw", capacity=16, allocation="full"))
    assert full[2]["volume"]["allocation"] >= 16 * MIB
    grown = ladder(volume, vol(p, "thin.raw", capacity="128MiB"))
    assert grown[0]["actions"] == [f"grow volume {p}/thin.raw to {128 * MIB} bytes"]
    refused = run_module(volume, vol(p, "thin.raw", capacity="32MiB"))
    assert refused["failed"] and refused["consent_option"] == "allow_shrink"
    assert (path / "thin.raw").stat().st_size == 128 * MIB
    ladder(volume, vol(p, "thin.raw", capacity="32MiB", allow_shrink=True))
    changed_format = run_module(volume, vol(p, "thin.raw", format="qcow2"))
    assert changed_format["failed"] and "format cannot change from 'raw' to 'qcow2' in place" in changed_format["msg"]
    ladder(volume, vol(p, "thin.raw", state="absent", wipe="zero"))
    assert not (path / "thin.raw").exists()


def test_linked_clone_is_constant_cost_and_boots(lab: Lab) -> None:
    p, path = dir_pool(lab)
    small = path / "small.raw"
    big = path / "big.raw"
    for file, size in ((small, 10 * MIB), (big, 1024 * MIB)):
        with file.open("wb") as handle:
            handle.write(b"SVKVM-MARK TEMPLATE\n".ljust(512, b"\0"))
            handle.truncate(size)
    lab.conn.storagePoolLookupByName(p).refresh(0)
    clones = {}
    for template in ("small.raw", "big.raw"):
        result = ladder(volume, vol(p, f"clone-{template}.qcow2", clone_from={"name": template}))
        clones[template] = result[2]["volume"]
        assert result[2]["volume"]["backing"] == str(path / template)
    # Constant cost: the overlay is a few hundred KiB whatever the template's size.
    assert clones["big.raw"]["allocation"] < MIB and clones["small.raw"]["allocation"] < MIB
    assert clones["big.raw"]["capacity"] == 1024 * MIB

    # The clone boots as the guest's disk and reads the template's data through the overlay.
    name = f"{lab.prefix}-cl"
    params = guest_params(
        lab,
        name,
        None,
        cmdline="sv_disk=/dev/vda sv_read=0",
        disks=[
            {
                "target": "vda",
                "bus": "virtio",
                "format": "qcow2",
                "source": {"pool": p, "volume": "clone-big.raw.qcow2"},
            }
        ],
        state="running",
    )
    assert run_module(domain, params)["changed"]
    wait_for(
        "the guest to read the template's marker",
        lambda: "s0=<SVKVM-MARK TEMPLATE>" in serial_path_of(params).read_text(errors="replace"),
        90,
    )
    info = run_module(volume_info, {"uri": URI, "pool": p, "name": "clone-big.raw.qcow2"}, check_mode=True)
    assert info["changed"] is False and info["volumes"][0]["chain_depth"] == 1  # the clone over its template
    assert run_module(volume_info, {"uri": URI, "pool": p, "name": "big.raw"})["volumes"][0]["chain_depth"] == 0
    assert info["volumes"][0]["users"] == [{"domain": name, "target": "vda", "active": True, "host": URI, "volume": ""}]
    # In use by a domain: deletion is refused and names it.
    refused = run_module(volume, vol(p, "clone-big.raw.qcow2", state="absent"))
    assert refused["failed"] and refused["msg"] == (
        f"volume {p}/clone-big.raw.qcow2 is in use - domain {name} (vda, running) on {URI}; detach it there "
        "(sharedvirt.kvm.domain or shared_disk) or flatten the clones that back onto it (sharedvirt.kvm.volume "
        "flatten=true) before deleting it"
    )

    # The template under a running linked clone: refused in check mode and for real, naming the guest (through
    # its live backing chain) and the clone; the template's data is untouched.
    template_sum = sha256(big)
    for check in (True, False):
        kept = run_module(volume, vol(p, "big.raw", state="absent"), check_mode=check)
        assert kept["failed"] and kept["msg"].startswith(
            f"volume {p}/big.raw is in use - domain {name} (vda, running) on {URI}; volume {p}/clone-big.raw.qcow2 "
            f"(a linked clone backing onto it) on {URI}; detach it there"
        )
    assert sha256(big) == template_sum

    # Flatten on purpose, live: the guest keeps running on its disk, which no longer needs the template.
    flat = ladder(volume, vol(p, "clone-big.raw.qcow2", flatten=True))
    assert flat[0]["actions"] == [
        f"flatten volume {p}/clone-big.raw.qcow2 live in domain {name} (vda): pull in the data of {big}"
    ]
    assert "backing" not in flat[2]["volume"] and lab.conn.lookupByName(name).isActive()
    ladder(volume, vol(p, "big.raw", state="absent"))
    assert not big.exists()
    # The clone still boots, and reads the template's data that was pulled into it.
    serial_path_of(params).write_text("")
    dom = lab.conn.lookupByName(name)
    dom.destroy()
    dom.create()
    wait_for(
        "the flattened clone to boot with the template's data",
        lambda: "s0=<SVKVM-MARK TEMPLATE>" in serial_path_of(params).read_text(errors="replace"),
        90,
    )
    run_module(domain, {"uri": URI, "name": name, "state": "absent"})


def template_file(path: Path, marker: bytes) -> str:
    with path.open("wb") as handle:
        handle.write(marker.ljust(512, b"\0"))
        handle.truncate(16 * MIB)
    return sha256(path)


def test_many_clones_in_one_task_and_a_template_cloned_earlier_in_the_task_is_kept(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    p, path = dir_pool(lab)
    template_file(path / "t.raw", b"SVKVM-MARK T")
    lab.conn.storagePoolLookupByName(p).refresh(0)
    params = {
        "uri": URI,
        "defaults": {"pool": p, "clone_from": {"name": "t.raw"}},
        "volumes": [{"name": f"c{i}.qcow2"} for i in range(3)],
    }
    steps = ladder(volumes, params)
    assert steps[0]["actions"] == [f"create volume {p}/c{i}.qcow2 as a linked clone of {p}/t.raw" for i in range(3)]
    assert [r["volume"]["backing"] for r in steps[2]["results"]] == [str(path / "t.raw")] * 3
    assert run_module(volume, vol(p, "c1.qcow2", clone_from={"name": "t.raw"}))["changed"] is False  # the same

    # One task clones a template, then deletes it: who uses what is read again after the clone, so the deletion
    # meets the clone this task just made and is refused; the template's data is intact.
    kept = template_file(path / "u.raw", b"SVKVM-MARK U")
    lab.conn.storagePoolLookupByName(p).refresh(0)
    clone_then_delete = [
        {"pool": p, "name": "d.qcow2", "clone_from": {"name": "u.raw"}},
        {"pool": p, "name": "u.raw", "state": "absent"},
    ]
    refused = run_module(volumes, {"uri": URI, "volumes": clone_then_delete})
    assert refused["failed"] and refused["msg"].startswith(
        f"volumes[1] (u.raw): volume {p}/u.raw is in use - volume {p}/d.qcow2 (a linked clone backing onto it)"
    )
    assert "(changed before it: d.qcow2)" in refused["msg"] and sha256(path / "u.raw") == kept

    # Negative control: with the first read kept for the whole task, the same task deletes the template under
    # the clone it has just made.
    template_file(path / "w.raw", b"SVKVM-MARK W")
    lab.conn.storagePoolLookupByName(p).refresh(0)
    monkeypatch.setattr(UsageReader, "forget", lambda self: None)
    harm = [
        {"pool": p, "name": "e.qcow2", "clone_from": {"name": "w.raw"}},
        {"pool": p, "name": "w.raw", "state": "absent"},
    ]
    assert run_module(volumes, {"uri": URI, "volumes": harm})["changed"] is True and not (path / "w.raw").exists()


def test_full_clone_keeps_sparseness_across_pools(lab: Lab) -> None:
    p, path = dir_pool(lab)
    q, other = dir_pool(lab, "vq")
    template = path / "t.raw"
    with template.open("wb") as handle:
        handle.write(b"x" * MIB)
        handle.truncate(256 * MIB)
    lab.conn.storagePoolLookupByName(p).refresh(0)
    copy = ladder(volume, vol(q, "copy.raw", clone_from={"pool": p, "name": "t.raw", "mode": "full"}))
    assert copy[2]["volume"]["capacity"] == 256 * MIB
    assert copy[2]["volume"]["allocation"] < 16 * MIB  # sparse: only the written MiB (and some) is allocated
    assert sha256(other / "copy.raw") == sha256(template)


def qcow2_template(path: Path, data_mib: int, size_mib: int) -> None:
    """A qcow2 image of ``size_mib`` whose first ``data_mib`` are random, the rest never written."""
    seed = path.with_suffix(".seed")
    with seed.open("wb") as handle:
        handle.write(os.urandom(data_mib * MIB))
        handle.truncate(size_mib * MIB)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(seed), str(path)], check=True)
    seed.unlink()


def same_content(first: Path, second: Path, second_format: str = "qcow2") -> bool:
    compare = ["qemu-img", "compare", "-f", "qcow2", "-F", second_format, str(first), str(second)]
    return subprocess.run(compare, capture_output=True, check=False).returncode == 0


def test_full_clone_in_one_pool_copies_the_file_and_other_formats_convert(lab: Lab) -> None:
    """Within one local pool and format a full clone is the template's file, copied (byte for byte, holes kept);
    a larger capacity is grown after the copy; another format goes through libvirt's conversion."""
    p, path = dir_pool(lab)
    template = path / "t.qcow2"
    qcow2_template(template, 24, 256)
    lab.conn.storagePoolLookupByName(p).refresh(0)
    copy = ladder(volume, vol(p, "c.qcow2", clone_from={"name": "t.qcow2", "mode": "full"}))
    assert copy[2]["actions"] == [f"create volume {p}/c.qcow2 as a full copy of {p}/t.qcow2"]
    assert sha256(path / "c.qcow2") == sha256(template)  # the file itself, not a re-encoded image
    assert (path / "c.qcow2").stat().st_blocks * 512 < 40 * MIB  # the 24 MiB written, not the 256
    assert copy[2]["volume"]["capacity"] == 256 * MIB and copy[2]["volume"].get("backing") is None

    grown = ladder(volume, vol(p, "g.qcow2", capacity="512MiB", clone_from={"name": "t.qcow2", "mode": "full"}))
    assert grown[2]["volume"]["capacity"] == 512 * MIB
    assert same_content(template, path / "g.qcow2")

    raw = ladder(volume, vol(p, "c.raw", format="raw", clone_from={"name": "t.qcow2", "mode": "full"}))
    assert raw[2]["volume"]["capacity"] == 256 * MIB
    assert same_content(template, path / "c.raw", "raw")
    assert sorted(f.name for f in path.iterdir()) == ["c.qcow2", "c.raw", "g.qcow2", "t.qcow2"]


def test_live_grow_reaches_the_guest(lab: Lab) -> None:
    p, path = dir_pool(lab)
    run_module(volume, vol(p, "data.raw", format="raw", capacity="16MiB"))
    name = f"{lab.prefix}-grow"
    disks = [{"target": "vdb", "bus": "virtio", "format": "raw", "source": {"pool": p, "volume": "data.raw"}}]
    params = guest_params(lab, name, None, disks=disks, state="running")
    assert run_module(domain, params)["changed"]
    dom = lab.conn.lookupByName(name)
    wait_for("the guest agent", lambda: agent(dom, {"execute": "guest-ping"}) is not None, 90)
    grown = ladder(volume, vol(p, "data.raw", capacity="48MiB"))
    assert grown[0]["actions"] == [f"grow volume {p}/data.raw to {48 * MIB} bytes live in domain {name} (vdb)"]
    assert dom.blockInfo("vdb")[0] == 48 * MIB
    # The guest names its only virtio disk vda, whatever libvirt's target name.
    sectors = str(48 * MIB // 512)
    wait_for("the guest kernel to see 48 MiB", lambda: guest_read(dom, "/sys/block/vda/size") == sectors, 30)
    run_module(domain, {"uri": URI, "name": name, "state": "absent"})


def test_upload_download_and_untrusted_images(lab: Lab, tmp_path: Path) -> None:
    p, path = dir_pool(lab)
    image = tmp_path / "img.raw"
    image.write_bytes(b"SVKVM" * 200_000)
    digest = sha256(image)
    up = vol(p, "up.raw", format="raw", upload={"src": str(image), "checksum": f"sha256:{digest}"})
    uploaded = ladder(volume, up)
    assert uploaded[0]["actions"] == [
        f"upload {image} into new volume {p}/up.raw (checked by SHA-256 before it becomes the volume)"
    ]
    assert sha256(path / "up.raw") == digest
    dest = tmp_path / "down.raw"
    ladder(volume, vol(p, "up.raw", download={"dest": str(dest)}))
    assert sha256(dest) == digest
    assert dest.stat().st_mode & 0o777 == 0o600  # a disk image is the guest's data: root reads it, no one else

    # replace: the other image goes in whole, checked before the swap; without it the difference is refused.
    other = tmp_path / "other.raw"
    other.write_bytes(b"OTHER" * 200_000)
    changed = dict(up, upload={"src": str(other), "checksum": sha256(other)})
    refused = run_module(volume, changed)
    assert refused["failed"] and refused["consent_option"] == "upload.replace" and sha256(path / "up.raw") == digest
    replaced = ladder(volume, dict(changed, upload=dict(changed["upload"], replace=True)))
    assert replaced[2]["actions"][0].startswith(f"replace the content of volume {p}/up.raw with {other}")
    assert sha256(path / "up.raw") == sha256(other)

    bad_sum = run_module(volume, vol(p, "x.raw", format="raw", upload={"src": str(image), "checksum": "0" * 64}))
    assert bad_sum["failed"] and bad_sum["msg"].startswith("upload.checksum: the SHA-256 of")
    no_format = run_module(volume, vol(p, "x.raw", upload={"src": str(image), "checksum": digest}))
    assert (
        no_format["failed"]
        and no_format["msg"] == "format: is required with upload: the image's format is declared, never guessed"
    )
    lying = run_module(volume, vol(p, "x.qcow2", format="qcow2", upload={"src": str(image), "checksum": digest}))
    assert lying["failed"] and "the file is raw, not the declared format qcow2" in lying["msg"]
    evil = tmp_path / "evil.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", str(evil)], check=True)
    hostile = run_module(
        volume, vol(p, "evil.qcow2", format="qcow2", upload={"src": str(evil), "checksum": sha256(evil)})
    )
    assert hostile["failed"] and "its backing file /etc/shadow lies outside the pool" in hostile["msg"]
    assert sorted(f.name for f in path.iterdir()) == ["up.raw"]  # nothing half-created


def test_a_killed_upload_never_leaves_half_an_image(lab: Lab, tmp_path: Path) -> None:
    p, path = dir_pool(lab)
    image = tmp_path / "big.raw"
    with image.open("wb") as handle:
        handle.write(b"SVKVM-MARK BIG\n".ljust(4096, b"\0"))
        handle.truncate(1024 * MIB)
    digest = sha256(image)
    play = tmp_path / "upload.yml"
    task = vol(p, "big.raw", format="raw", upload={"src": str(image), "checksum": digest, "remote_src": True})
    play.write_text(
        json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [{"sharedvirt.kvm.volume": task}]}])
    )
    run = start_playbook(play)
    temp = path / ".big.raw.upload"
    wait_for("the upload to start", lambda: temp.exists() or run.poll() is not None, 120, interval=0.02)
    kill_tree(run.pid)  # the playbook and the module's own process, mid-upload
    run.wait()
    # Killed before the swap, the volume does not exist; after it, it is whole. Never half an image.
    final = path / "big.raw"
    assert not final.exists() or sha256(final) == digest
    again = run_module(volume, task)
    assert not again.get("failed"), again.get("msg")
    assert sha256(final) == digest and not temp.exists()  # the unfinished upload is gone
    assert run_module(volume, task)["changed"] is False


def test_no_space_leaves_no_half_volume(lab: Lab) -> None:
    device = lab.loop(24, mkfs="ext4", suffix="tiny")
    name = f"{lab.prefix}-tiny"
    target = Path("/var/tmp/sharedvirt-kvm") / name
    lab.pools.append(name)
    lab.files.append(target)
    created = run_module(
        pool,
        {
            "uri": URI,
            "name": name,
            "type": "fs",
            "source": {"device": [device], "format": "ext4"},
            "target": {"path": str(target)},
        },
    )
    assert not created.get("failed"), created.get("msg")
    full = run_module(volume, vol(name, "big.raw", format="raw", capacity="64MiB", allocation="full"))
    assert full["failed"] is True and full["msg"].startswith(f"create volume {name}/big.raw: ")
    assert not (target / "big.raw").exists()
    ladder(volume, vol(name, "big.raw", format="raw", capacity="8MiB", allocation="full"))

    # A full clone that does not fit: nothing half-copied stays, and after space is freed it works.
    p, path = dir_pool(lab)
    (path / "t.raw").write_bytes(bytes(range(256)) * (16 * MIB // 256))  # 16 MiB of data, no holes
    lab.conn.storagePoolLookupByName(p).refresh(0)
    clone = vol(name, "copy.raw", clone_from={"pool": p, "name": "t.raw", "mode": "full"})
    no_room = run_module(volume, clone)
    assert no_room["failed"] is True and no_room["msg"].startswith(f"clone volume {name}/copy.raw: ")
    assert not (target / "copy.raw").exists()
    run_module(volume, vol(name, "big.raw", state="absent"))
    ladder(volume, clone)
    assert sha256(target / "copy.raw") == sha256(path / "t.raw")
    run_module(pool, {"uri": URI, "name": name, "state": "absent"})


def test_upload_from_the_controller(lab: Lab, tmp_path: Path) -> None:
    p, path = dir_pool(lab)
    image = tmp_path / "controller.raw"
    image.write_bytes(b"FROM-CONTROLLER" * 100_000)
    play = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - sharedvirt.kvm.volume:
        uri: {URI}
        pool: {p}
        name: ctl.raw
        format: raw
        upload: {{src: {image}, checksum: "sha256:{sha256(image)}"}}
      register: first
    - sharedvirt.kvm.volume:
        uri: {URI}
        pool: {p}
        name: ctl.raw
        format: raw
        upload: {{src: {image}, checksum: "sha256:{sha256(image)}"}}
      register: second
    - sharedvirt.kvm.volume:
        uri: {URI}
        pool: {p}
        name: ctl-async.raw
        format: raw
        upload: {{src: {image}, checksum: "sha256:{sha256(image)}"}}
      async: 120
      poll: 1
      register: in_background
    - ansible.builtin.assert:
        that:
          - first is changed
          - second is not changed
          - in_background is changed and in_background is finished
          # the action plugin copied the image from the controller to the host's temporary directory
          - first.actions[-1] is search('^upload /.*/upload-image into new volume ')
"""
    run = run_playbook(play)
    assert run.rc == 0, run.output
    assert sha256(path / "ctl.raw") == sha256(image) == sha256(path / "ctl-async.raw")
    assert "ASYNC OK on localhost" in run.output  # async with poll: Ansible reports while it waits


def test_thin_provisioning_limit_refuses_or_warns_with_the_figures(lab: Lab) -> None:
    p, path = dir_pool(lab, "thin")
    [facts] = run_module(pool_info, {"uri": URI, "name": p})["pools"]
    capacity = facts["capacity"]
    six_tenths = (capacity * 6 // 10) // MIB * MIB  # sparse: nothing is allocated, only promised
    limit = {"ratio": 1.0}
    ladder(volume, vol(p, "a.raw", format="raw", capacity=f"{six_tenths // MIB}MiB", overcommit=limit))
    second = vol(p, "b.raw", format="raw", capacity=f"{six_tenths // MIB}MiB", overcommit=limit)
    for check_mode in (True, False):
        refused = run_module(volume, second, check_mode=check_mode)
        assert refused["failed"] and not refused["changed"]
        assert refused["msg"].startswith(
            f"pool {p}: {six_tenths} more bytes would commit {2 * six_tenths} bytes of virtual disk to {capacity} bytes"
        )
    assert sorted(f.name for f in path.iterdir()) == ["a.raw"]
    warned = run_module(volume, dict(second, overcommit={"ratio": 1.0, "action": "warn"}))
    assert warned["changed"] and any("above overcommit.ratio 1" in w for w in warned.get("warnings", []))
    [facts] = run_module(pool_info, {"uri": URI, "name": p})["pools"]
    assert facts["committed"] == 2 * six_tenths and facts["committed_ratio"] == round(2 * six_tenths / capacity, 3)
