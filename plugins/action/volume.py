# Copyright: sharedvirt.kvm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of sharedvirt.kvm.volume: copies an upload image from the controller to the host first."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    """Runs the volume module; with ``upload.remote_src=false`` the image travels from the controller."""

    TRANSFERS_FILES = True
    # Long uploads and clones run with async/poll: Ansible then prints a line at each poll while they work.
    _supports_async = True

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        args = dict(self._task.args)
        upload = args.get("upload")
        try:
            if isinstance(upload, dict) and upload.get("src") and not upload.get("remote_src", False):
                local = self._find_needle("files", upload["src"])
                shell = self._connection._shell
                if shell.tmpdir is None:
                    self._make_tmp_path()
                remote = shell.join_path(shell.tmpdir, "upload-image")
                self._transfer_file(local, remote)
                self._fixup_perms2((shell.tmpdir, remote))
                args["upload"] = dict(upload, src=remote, remote_src=True)
            result.update(
                self._execute_module(
                    module_name=self._task.resolved_action, module_args=args, task_vars=task_vars, wrap_async=wrap_async
                )
            )
        except AnsibleActionFail as err:
            result.update(err.result)
        finally:
            # An async run still needs the module and the image: its wrapper removes the directory when done.
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
