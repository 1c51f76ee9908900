"""Kill-then-resume tests: the CLI in a child process, SIGKILLed once a condition holds.

A child (not CliRunner) because only a real process can be killed mid-write: what a
SIGKILL leaves behind is what a crash leaves behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping


def start_cli(*args: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """`python -m sdf_corpus ARGS` with `env` added to this process's environment.

    Stdout is dropped (no test reads it, and an unread pipe could fill and stall the
    child); stderr is kept for the failure message."""
    return subprocess.Popen(
        [sys.executable, "-m", "sdf_corpus", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_when(
    proc: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    within: float,
    pause: float = 0.0,
    poll: float = 0.01,
) -> bool:
    """Wait until `ready()` (at most `within` seconds, and only while `proc` runs), sleep
    `pause` more, then SIGKILL `proc` if it is still running, and reap it.

    True if the kill landed; False if the child had already ended (a test that needs
    the kill asserts on this, and can read `proc.communicate()[1]` for why)."""
    deadline = time.time() + within
    while proc.poll() is None and not ready() and time.time() < deadline:
        time.sleep(poll)
    time.sleep(pause)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return killed
