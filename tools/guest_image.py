"""Print the embedded test guest as JSON (kernel, initrd, cmdline), building it first if needed.

Playbooks of the demo and the molecule scenarios read it with the pipe lookup.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from testbed.guest import guest_image  # noqa: E402

if __name__ == "__main__":
    print(json.dumps(guest_image().to_dict()))
