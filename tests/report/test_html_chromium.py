"""report.html renders in headless Chromium with no console errors (the page is not modified)."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import pytest

from sdf_corpus.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--dump-dom",
)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium missing (apt-get install chromium)"
)


def _render(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after load, and the console lines Chromium logged for the page."""
    proc = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [
        line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line
    ]
    return proc.stdout, console


def test_console_capture_sees_errors(tmp_path: Path) -> None:
    # Guards the check below: a page with a script error must be caught.
    bad = tmp_path / "bad.html"
    bad.write_text("<p id=x>hi</p><script>notDefined()</script>")
    _, console = _render(bad, tmp_path / "profile")
    assert any("Uncaught ReferenceError" in line for line in console)


def test_report_renders_without_console_errors(built_run: Path, tmp_path: Path) -> None:
    write_report(built_run)
    dom, console = _render(built_run / "report.html", tmp_path / "profile")
    assert console == []
    assert 'id="report-title"' in dom and 'id="kpis"' in dom
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', dom)
    assert len(images) >= 5
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    # the meaning section: its tables, the idea pool's line and the map of the corpus
    assert 'id="meaning"' in dom and 'id="semantic-clusters"' in dom and 'id="idea-pool"' in dom
    (corpus_map,) = re.findall(
        r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="map of the corpus">', dom
    )
    assert base64.b64decode(corpus_map)[:8] == b"\x89PNG\r\n\x1a\n"
