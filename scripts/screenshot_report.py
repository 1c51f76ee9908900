"""Save a PNG screenshot of RUN_DIR/report.html with headless Chromium.

    python scripts/screenshot_report.py RUN_DIR OUT.png [--width 1400] [--height 4000]

Writes the report first if RUN_DIR has none. Needs `chromium` (Debian package)
or CHROMIUM=/path/to/chrome.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sdf_corpus.report import write_report

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars")


def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return os.environ.get("CHROMIUM") or found


def screenshot(html: Path, out: Path, width: int = 1400, height: int = 4000) -> None:
    binary = chromium()
    if binary is None:
        raise SystemExit("chromium not found: apt-get install chromium, or set CHROMIUM")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                        f"--screenshot={out.resolve()}", f"--window-size={width},{height}",
                        html.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=4000)
    args = parser.parse_args(argv)
    html = args.run_dir / "report.html"
    if not html.is_file():
        print(write_report(args.run_dir), file=sys.stderr)
    screenshot(html, args.out, args.width, args.height)
    print(args.out)


if __name__ == "__main__":
    main()
