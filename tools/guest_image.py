"""Print the embedded test guest as JSON (kernel, initrd, cmdline), building it first if needed.

Playbooks of the demo and the molecule scenarios read it with the pipe lookup. With --appliance: the storage
appliance image (the guest plus the LIO target), for the storage_appliance role.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from testbed.appliance_image import appliance_image  # noqa: E402
from testbed.guest import guest_image  # noqa: E402
from testbed.paths import GUEST_CACHE  # noqa: E402

if __name__ == "__main__":
    image = appliance_image(GUEST_CACHE) if sys.argv[1:] == ["--appliance"] else guest_image()
    print(json.dumps(image.to_dict()))
