"""The docs site as a browser shows it: headless Chromium renders build/docs/html (made by make docs) and
the DOM it builds has the title, option tables and examples; screenshots go to build/docs/screenshots."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "build" / "docs" / "html"
SHOTS = ROOT / "build" / "docs" / "screenshots"
# Pages are files; nothing may leave the machine even if a page asked for it.
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND"]


def render(page: str) -> str:
    """The DOM Chromium builds for the page (after scripts ran), and a screenshot of it."""
    url = (SITE / page).as_uri()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / (Path(page).stem + ".png")
    subprocess.run(
        [*CHROMIUM, "--window-size=1280,1600", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 20_000, f"{shot}: an empty page?"
    done = subprocess.run([*CHROMIUM, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def text(dom: str) -> str:
    """What the page reads as (tags removed, entities decoded): highlighted code is split into spans."""
    return html.unescape(re.sub(r"<[^>]+>", "", dom))


@pytest.fixture(scope="module", autouse=True)
def site() -> None:
    if shutil.which("chromium") is None:
        pytest.fail("chromium is missing: make setup installs it (tools/debian-packages.txt)")
    if not (SITE / "index.html").exists():
        pytest.fail("build/docs/html is missing: run make docs first")


def test_index_lists_the_guides_and_the_reference() -> None:
    dom = render("index.html")
    assert "<title>sharedvirt.kvm" in dom
    titles = [p.read_text().splitlines()[0][2:].replace("`", "") for p in sorted((ROOT / "docs").glob("*.md"))]
    assert all(title in text(dom) for title in titles), titles
    assert 'href="collections/sharedvirt/kvm/index.html"' in dom


def test_the_domain_page_has_its_options_and_examples() -> None:
    dom = render("collections/sharedvirt/kvm/domain_module.html")
    assert "<title>sharedvirt.kvm.domain module" in dom
    assert 'id="parameters"' in dom and "ansible-option-table" in dom
    for option in ("memory", "vcpus", "disks", "interfaces", "state", "recreate"):
        assert f'id="parameter-{option}"' in dom, option
    assert 'id="examples"' in dom and "sharedvirt.kvm.domain:" in text(dom)


def test_every_role_and_guide_page_was_built() -> None:
    for page in ("hypervisor_role", "shared_storage_role", "vm_cluster_role", "storage_appliance_role"):
        assert (SITE / "collections/sharedvirt/kvm" / f"{page}.html").exists(), page
    guides = {p.stem for p in (ROOT / "docs").glob("*.md")}
    assert guides <= {p.stem for p in (SITE / "guides").glob("*.html")}


def test_the_storage_appliance_guide_shows_its_layout_picture() -> None:
    page = (SITE / "guides" / "storage-appliance.html").read_text()
    assert "storage-appliance.svg" in page and (SITE / "_images" / "storage-appliance.svg").exists()
