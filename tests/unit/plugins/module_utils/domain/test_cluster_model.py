from __future__ import annotations

import pytest

from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.errors import SpecError
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.plan import compare
from ansible_collections.sharedvirt.kvm.plugins.module_utils._core.xmlutil import parse_xml, to_string
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.cluster_model import (
    ClusterPolicy,
    read_cluster_policy,
)
from ansible_collections.sharedvirt.kvm.plugins.module_utils.domain.model import DomainSpec

WITH_POLICY = """<domain><name>db1</name><metadata>
  <sharedvirt-cluster:policy xmlns:sharedvirt-cluster="https://sharedvirt.dev/xmlns/kvm/cluster/1.0" ha="yes"
    priority="50" maintenance="shutdown" anti-affinity="db"/>
  <other:data xmlns:other="urn:other">kept</other:data></metadata></domain>"""


def test_the_policy_is_read_from_its_namespace_and_defaults_apply_when_unset() -> None:
    policy = read_cluster_policy(parse_xml(WITH_POLICY))
    assert policy == ClusterPolicy(ha=True, priority=50, maintenance_policy="shutdown", anti_affinity="db")
    assert read_cluster_policy(parse_xml("<domain/>")) == ClusterPolicy() and ClusterPolicy().drain == "migrate"


def test_only_declared_fields_change_and_the_rest_of_the_metadata_stays() -> None:
    actual = DomainSpec.from_xml(WITH_POLICY)
    desired = DomainSpec.from_params({"name": "db1", "cluster": {"priority": 80}})
    changes = compare(desired, actual)
    assert [(c.field, c.sub, c.before, c.after) for c in changes] == [("cluster", "priority", 50, 80)]
    rendered = to_string(desired.render(parse_xml(WITH_POLICY)))
    again = DomainSpec.from_xml(rendered)
    assert again.cluster == ClusterPolicy(ha=True, priority=80, maintenance_policy="shutdown", anti_affinity="db")
    assert "<other:data" in rendered or "kept" in rendered
    assert compare(desired, again) == []


def test_policy_values_are_checked() -> None:
    with pytest.raises(SpecError, match=r"^cluster\.priority: 5000 is out of range; give 0 to 1000$"):
        DomainSpec.from_params({"name": "db1", "cluster": {"priority": 5000}})
    with pytest.raises(SpecError, match=r"^cluster\.maintenance_policy: 'pray' is not one of migrate, shutdown, stay$"):
        DomainSpec.from_params({"name": "db1", "cluster": {"maintenance_policy": "pray"}})
