"""Helpers shared by the benchmark scripts (not part of the package).

Every measured command runs as a child process and is reaped with `os.wait4`,
so its wall time, CPU seconds and peak RSS are its own, not the script's.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# The synthetic test corpus (textsynth) lives with the tests, outside the package.
if str(ROOT / "tests") not in sys.path:
    sys.path.append(str(ROOT / "tests"))


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    maxrss_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Measured:
    """Run `cmd` to completion; its own wall time, user+sys CPU and peak RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            wall,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024,
            proc.returncode,
            out.read(),
            err.read(),
        )


def check(m: Measured, what: str) -> None:
    if m.returncode != 0:
        sys.stderr.write(m.stdout[-4000:] + m.stderr[-4000:])
        raise SystemExit(f"{what} failed with exit code {m.returncode}")


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
