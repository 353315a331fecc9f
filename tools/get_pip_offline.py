"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap its sanity venvs.

ansible-test fetches get-pip from a host this machine cannot reach; this script does the same job
with the interpreter's bundled ensurepip and then pip from the package index: installs pip, then
the requested packages. Options that only get-pip understands are dropped.
"""

from __future__ import annotations

import ensurepip
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap()
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
subprocess.run([sys.executable, "-m", "pip", "install", *args], check=True)
