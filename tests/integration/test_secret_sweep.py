"""No secret ever shows: every secret a play uses is searched for in everything Ansible prints and logs."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

from testbed.ansible import environment
from testbed.lab import Lab
from testbed.modules import run_module

from ansible_collections.sharedvirt.kvm.plugins.modules import secret

URI = "qemu:///system"


def test_secrets_appear_nowhere(lab: Lab, tmp_path: Path) -> None:
    chap = f"svt-secret-{secrets.token_hex(6)}"
    vnc_option, vnc_xml, vnc_item = (f"Q{secrets.token_hex(3)}Z" for _secret in range(3))  # VNC: at most 8 characters
    name = f"{lab.prefix}-sweep"
    lab.domains += [name, f"{name}-x", f"{name}-i"]
    usage = f"{lab.prefix}-chap"
    xml = (
        f"<domain type='qemu'><name>{name}-x</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
        f"<devices><graphics type='vnc' port='-1' autoport='yes' passwd='{vnc_xml}'/></devices></domain>"
    )
    play = tmp_path / "sweep.yml"
    play.write_text(
        f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A CHAP password
      sharedvirt.kvm.secret: {{uri: "{URI}", usage_type: iscsi, usage_id: "{usage}", value: "{chap}", private: false}}
    - name: A display password as an option
      sharedvirt.kvm.domain:
        uri: {URI}
        name: {name}
        memory: 64MiB
        graphics: [{{type: vnc, password: "{vnc_option}"}}]
    - name: A display password inside xml
      sharedvirt.kvm.domain: {{uri: "{URI}", xml: "{xml}"}}
    - name: A display password in a domains item's xml and its options
      sharedvirt.kvm.domains:
        uri: {URI}
        domains:
          - {{name: "{name}-i", memory: 64MiB, graphics: [{{type: vnc, password: "{vnc_item}"}}]}}
    - name: Remove the secret
      sharedvirt.kvm.secret: {{uri: "{URI}", usage_type: iscsi, usage_id: "{usage}", state: absent}}
"""
    )
    log = tmp_path / "ansible.log"
    env = dict(environment(), ANSIBLE_DEBUG="1", ANSIBLE_LOG_PATH=str(log), ANSIBLE_KEEP_REMOTE_FILES="0")
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local", "-vvvv"]
    cmd += ["-e", f"ansible_python_interpreter={sys.executable}", str(play)]
    outputs = []
    try:
        for extra in ([], ["--check", "--diff"], ["--diff"]):  # created, predicted again, rerun
            done = subprocess.run(cmd + extra, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
            outputs += [done.stdout, done.stderr]
    finally:
        run_module(secret, {"uri": URI, "usage_type": "iscsi", "usage_id": usage, "state": "absent", "force": True})
    # ansible-core itself, under ANSIBLE_DEBUG (documented as unsafe), echoes every module's arguments as given
    # ("_execute_module (module, {args})"), before any module runs; that one line is outside the collection's
    # reach and is left out. Everything else - -vvvv output, the log file, the results - is searched.
    lines = ("\n".join(outputs) + log.read_text(errors="replace")).splitlines()
    core_echo = [line for line in lines if "_execute_module (" in line]
    everything = "\n".join(line for line in lines if line not in core_echo)
    assert core_echo  # ANSIBLE_DEBUG was on
    assert f"usage_id={usage}" in everything or usage in everything  # the runs did print their arguments
    found: dict[str, int] = {s: everything.count(s) for s in (chap, vnc_option, vnc_xml, vnc_item)}
    where = [everything[max(0, everything.find(s) - 300) : everything.find(s) + 60] for s in found if found[s]]
    assert found == {s: 0 for s in found}, f"secrets in the output: {found}; first one in: {where[:1]}"
    assert everything.count("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER") > 0  # masked, not missing
