from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils.host.memory import (
    desired_values,
    hugepage_dir,
    plan,
    tmpfiles_text,
)

ROOT = "/sys/kernel/mm"


def test_only_set_options_become_values() -> None:
    assert desired_values({"enabled": True, "pages_to_scan": None, "sleep_millisecs": 50}, None) == {
        f"{ROOT}/ksm/run": "1",
        f"{ROOT}/ksm/sleep_millisecs": "50",
    }
    assert desired_values(None, {"count": 8, "size": "1GiB"}) == {
        f"{ROOT}/hugepages/hugepages-1048576kB/nr_hugepages": "8"
    }
    assert desired_values({"enabled": None}, {"count": None}) == {}


def test_plan_lists_only_differences() -> None:
    desired = {"/a": "1", "/b": "2"}
    assert plan(desired, {"/a": "1", "/b": "3"}) == {"/b": ("3", "2")}


def test_refusals_name_the_option() -> None:
    with pytest.raises(SpecError, match=r"^ksm.sleep_millisecs: 0 is not positive$"):
        desired_values({"sleep_millisecs": 0}, None)
    with pytest.raises(SpecError, match=r"^hugepages.count: -1 is negative$"):
        desired_values(None, {"count": -1})


def test_tmpfiles_is_stable() -> None:
    text = tmpfiles_text({"/z": "1", "/a": "2"})
    assert text.splitlines()[1:] == ["w /a - - - - 2", "w /z - - - - 1"]
    assert hugepage_dir("2MiB") == f"{ROOT}/hugepages/hugepages-2048kB"


def test_userfaultfd_is_the_sysctl_only_when_set() -> None:
    assert desired_values(None, None, userfaultfd=True) == {"/proc/sys/vm/unprivileged_userfaultfd": "1"}
    assert desired_values(None, None, userfaultfd=False) == {"/proc/sys/vm/unprivileged_userfaultfd": "0"}
    assert desired_values(None, None) == {}
    text = tmpfiles_text(desired_values({"enabled": True}, None, userfaultfd=True))
    assert "w /proc/sys/vm/unprivileged_userfaultfd - - - - 1" in text.splitlines()
