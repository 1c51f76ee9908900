"""The bundled Gemma 3 270M GGUF behind llama-cpp-python's OpenAI-compatible server
(the `llama-cpp-python[server]` extra), in a process of its own on 127.0.0.1.

`serve()` starts it on a free port and yields the base URL (`http://127.0.0.1:PORT/v1`);
run as a module it is the server process itself. The model loads with the same AMX
guard as the local backend (generate/backends/local.py): a sandboxed CPU may list AMX
without granting it, and the first matrix multiply would then kill the server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO

TESTS = Path(__file__).resolve().parents[1]
ALIAS = "gemma-3-270m"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(timeout: float = 180.0) -> Iterator[str]:
    """The server's base URL while the block runs; the process is stopped after."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    url = f"http://127.0.0.1:{port}/v1"
    # A file, not a pipe: a pipe nobody reads would stall the server once full.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evals.llama_server", str(port)], env=env, stdout=log, stderr=log
        )
        try:
            _wait_ready(proc, log, url, timeout)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], log: IO[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            said = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"llama.cpp server exited with {proc.returncode}: {said}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"llama.cpp server at {url} not ready in {timeout:g} s")


def main(port: int) -> None:
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    from sdf_corpus.generate.backends.local import (
        _cpu_advertises_amx,
        _without_extra_buffers,
        default_model_path,
    )

    model = ModelSettings(
        model=str(default_model_path()),
        model_alias=ALIAS,
        n_ctx=4096,
        n_threads=int(os.environ.get("SDF_TEST_LLAMA_THREADS", "2")),
        seed=0,
        verbose=False,
    )
    guard = _without_extra_buffers() if _cpu_advertises_amx() else nullcontext()
    with guard:  # create_app loads the model
        app = create_app(
            server_settings=ServerSettings(host="127.0.0.1", port=port), model_settings=[model]
        )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
