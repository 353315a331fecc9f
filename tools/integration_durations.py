"""Write tests/integration/durations.txt from a run's JUnit report: each file's seconds, which the integration
scheduler (tests/integration/conftest.py) uses to start the longest files first. Run it after a full `make test`
when files were added or grew: python tools/integration_durations.py [tests/output/junit/integration.xml]
A file's time includes its waits for guest slots: refresh from a run where no file waited long behind another."""

from __future__ import annotations

import collections
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# Seconds per file in a full run on two workers (tools/integration_durations.py writes it from the JUnit report).
# The scheduler in conftest.py starts the longest first, so that the workers end together.
"""


def file_seconds(report: Path) -> dict[str, float]:
    seconds: dict[str, float] = collections.Counter()
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")
        name = next((part for part in module if part.startswith("test_")), None)
        if name:
            seconds[f"{name}.py"] += float(case.get("time", 0))
    return seconds


def main() -> None:
    report = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/output/junit/integration.xml"
    seconds = file_seconds(report)
    rows = sorted(seconds.items(), key=lambda item: (-item[1], item[0]))
    text = HEADER + "".join(f"{round(value)} {name}\n" for name, value in rows)
    (ROOT / "tests/integration/durations.txt").write_text(text)


if __name__ == "__main__":
    main()
