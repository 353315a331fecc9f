"""The ova_import module (Ansible glue): each disk through the volume module's import path."""

# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Note: this module util is PRIVATE to the sharedvirt.kvm collection; its API may change at any time.

from __future__ import annotations

import contextlib
import os
import tarfile
import typing as t

from .._core.errors import ConflictError, SpecError
from .._core.module import LibvirtModule
from .._core.plan import Plan
from ..storage.client import VolumeExecutor, file_sha256, inspect_image
from ..storage.import_plan import foreign_problems
from ..storage.plan import VolumeRequest, image_problems, plan_volume
from ..storage.volume_model import VolumeSpec
from .client import copy_out, descriptor
from .model import declaration, read_ovf


def run_ova_import(module: LibvirtModule) -> t.Dict[str, t.Any]:
    params = module.params
    src = params["src"]
    if not os.path.isfile(src):
        raise SpecError("src", f"{src} is not a file on the host that runs this task")
    wanted = str(params["checksum"]).split(":", 1)[-1].lower()
    if file_sha256(src) != wanted:
        raise SpecError("checksum", f"the SHA-256 of {src} is not {wanted}; the file is not the expected OVA")
    executor = VolumeExecutor(module.client(readonly=module.check_mode))
    executor.pool(params["pool"])  # a clear error for a missing or inactive pool
    with contextlib.ExitStack() as scratch, tarfile.open(src, "r:") as archive:
        machine = read_ovf(descriptor(archive, src))
        name = params.get("name") or machine.name
        volumes = [f"{name}-disk{i}.{params['format']}" for i in range(len(machine.disks))]
        plans = [
            _disk_plan(
                module, executor, copy_out(archive, disk.file, src, scratch), volume, f"{src}:{disk.file}", scratch
            )
            for disk, volume in zip(machine.disks, volumes)
        ]
        if not module.check_mode:
            for plan in plans:
                executor.apply(plan)
    actions = [a for p in plans for a in p.actions]
    domain = declaration(machine, params["pool"], volumes, params["format"])
    domain["name"] = name
    return {"changed": bool(actions), "actions": actions, "domain": domain, "volumes": volumes}


def _disk_plan(
    module: LibvirtModule, executor: VolumeExecutor, image: str, volume: str, shown: str, scratch: contextlib.ExitStack
) -> Plan:
    """The checked, converted disk as a volume upload: nothing when the volume holds it already."""
    params = module.params
    info = inspect_image(image)
    problems = image_problems(info, "vmdk", "", params["max_virtual_size"]) + foreign_problems(info, image)
    if problems:
        raise ConflictError(f"refusing to import {shown}: {'; '.join(problems)}")
    pool = params["pool"]
    actual = executor.read(pool, volume)
    request = VolumeRequest(pool=pool, host=executor.client.uri)
    formats = ("vmdk", params["format"])
    request.upload = executor.upload_for(pool, volume, image, "", formats, params["replace"], "replace", scratch,
                                         f"{shown} ({params['format']})")  # fmt: skip
    size = os.path.getsize(request.upload.src) if request.upload and actual.spec is None else None
    return plan_volume(VolumeSpec(name=volume, format=params["format"], capacity=size), request, actual)
