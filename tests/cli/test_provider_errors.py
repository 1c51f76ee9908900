"""No command prints a traceback for any provider error: every class under
ProviderError, found at run time, ends `generate`, `build`, `judge` and `probes`
with one line and a documented exit code, on the immediate and the batch path.

A class an HTTP status produces is driven through the real anthropic SDK by the
fake provider answering that status; any other class is raised at the backend
seam (`AnthropicBackend.complete`, `BatchClient.create`)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import sdf_corpus
from fakeprovider.backend import anthropic_backend
from fakeprovider.server import FakeProvider
from fakeprovider.text import idea_list, realistic
from sdf_corpus.cli import main
from sdf_corpus.errors import PermanentError, ProviderError, RetryableError
from sdf_corpus.generate.backends.anthropic import AnthropicBackend
from sdf_corpus.generate.backends.anthropic_batches import BatchClient
from sdf_corpus.sampling import Completion, Request

KEY = "sk-ant-test-NEVER-PRINTED-0123456789"
# The README's "Exit codes" table.
DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7, 130}
# The status the fake provider answers to produce each class through the SDK.
STATUS: dict[type[ProviderError], int] = {RetryableError: 529, PermanentError: 400}
FAULT = {529: "529", 400: "400"}
JUDGE_MARK = "Score the document below against the rubric"


def _every_provider_error() -> list[type[ProviderError]]:
    # Import the whole package so that a subclass defined anywhere is found.
    for module in pkgutil.walk_packages(sdf_corpus.__path__, "sdf_corpus."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)

    def walk(cls: type[ProviderError]) -> Iterator[type[ProviderError]]:
        yield cls
        for sub in cls.__subclasses__():
            yield from walk(sub)

    return sorted(set(walk(ProviderError)), key=lambda c: f"{c.__module__}.{c.__qualname__}")


CLASSES = _every_provider_error()
IDS = [c.__qualname__ for c in CLASSES]


def _status(cls: type[ProviderError]) -> int | None:
    return STATUS.get(cls)


def _error(cls: type[ProviderError]) -> ProviderError:
    return cls(f"injected {cls.__qualname__} (key {KEY[:12]}... never shown)")


def _documents(prompt: str, body: dict[str, Any]) -> str:
    if "numbered list" in prompt.lower():
        return idea_list(prompt, 5)
    return realistic(prompt, int(body.get("max_tokens", 1000) * 0.45))


@pytest.fixture
def spec(
    write_spec: Callable[..., Path], fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    fake_provider.responder = _documents
    backend = anthropic_backend(
        fake_provider.url,
        max_attempts=2,
        retry_base_delay=0.01,
        retry_max_delay=0.05,
        batch={"poll_initial": 0.02, "poll_max": 0.1},
    )

    def make(**fields: Any) -> Path:
        fields.setdefault("budget", {"tokens": 4000, "max_rounds": 1})
        return write_spec(backend=backend, **fields)

    return make


def _fail_immediate(
    cls: type[ProviderError], fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Messages call fails with `cls`."""
    status = _status(cls)
    if status is not None:
        fake.inject(FAULT[status], count=10_000)
        return

    async def refuse(self: AnthropicBackend, request: Request) -> Completion:
        raise _error(cls)

    monkeypatch.setattr(AnthropicBackend, "complete", refuse)


def _fail_batch(
    cls: type[ProviderError], fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every batch create fails with `cls`."""
    status = _status(cls)
    if status is not None:
        fake.batches.fail_create(status, count=10_000)
        return

    async def refuse(self: BatchClient, entries: Any, token: str = "") -> Any:
        raise _error(cls)

    monkeypatch.setattr(BatchClient, "create", refuse)


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--no-progress"])


def _assert_one_line(result: Result, code: int) -> None:
    """Exited (not crashed) with `code`, one line saying why, no traceback, no key."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"uncaught {type(result.exception).__name__}:\n{trace}")
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert KEY not in output and KEY[:20] not in output
    assert result.exit_code == code and code in DOCUMENTED, result.output
    lines = [x for x in result.stderr.splitlines() if re.match(r"(error|stopped): ", x)]
    assert len(lines) == 1, result.stderr


@pytest.mark.parametrize("command", ["generate", "build"])
@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_immediate_path_provider_error_is_one_line(
    spec: Callable[..., Path],
    fake_provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    cls: type[ProviderError],
    command: str,
) -> None:
    _fail_immediate(cls, fake_provider, monkeypatch)
    result = _invoke(command, str(spec()))
    # Each job fails on its own; a run in which none succeeded ends 6.
    _assert_one_line(result, 6)
    assert "succeeded" in result.stderr or "empty" in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["generate", "build"])
@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_batch_path_provider_error_is_one_line(
    spec: Callable[..., Path],
    fake_provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    cls: type[ProviderError],
    command: str,
) -> None:
    _fail_batch(cls, fake_provider, monkeypatch)
    result = _invoke(command, str(spec()), "--batch")
    # A failing create ends the run: the class's own exit code, from the error tree.
    _assert_one_line(result, cls.exit_code)
    assert fake_provider.batches.count == 0  # nothing was created, nothing was paid


@pytest.mark.parametrize("batch", [False, True], ids=["immediate", "batch"])
@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_probes_provider_error_is_one_line(
    spec: Callable[..., Path],
    fake_provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    cls: type[ProviderError],
    batch: bool,
) -> None:
    (_fail_batch if batch else _fail_immediate)(cls, fake_provider, monkeypatch)
    probes = {"principles": ["never_create_false_impressions"], "per_principle": {"mcq": 2}}
    result = _invoke("probes", str(spec(probes=probes)), *(["--batch"] if batch else []))
    _assert_one_line(result, cls.exit_code if batch else 6)


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_judge_provider_error_is_one_line(
    spec: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, cls: type[ProviderError]
) -> None:
    """The documents are written; every judge call fails: too few judged, exit 7."""
    real = AnthropicBackend.complete

    async def judge_fails(self: AnthropicBackend, request: Request) -> Completion:
        if request.custom_id.endswith("-judge"):
            status = _status(cls)
            raise cls(f"anthropic {status} refused", status=status) if status else _error(cls)
        return await real(self, request)

    monkeypatch.setattr(AnthropicBackend, "complete", judge_fails)
    path = spec(budget={"tokens": 8000, "max_rounds": 1}, judge={"enabled": True})
    _assert_one_line(_invoke("build", str(path)), 7)
    _assert_one_line(_invoke("judge", str(path)), 7)


def test_a_real_process_prints_no_traceback(
    spec: Callable[..., Path], fake_provider: FakeProvider
) -> None:
    """The same through `python -m sdf_corpus`, where an uncaught error would print one."""
    fake_provider.batches.fail_create(400, count=10_000)
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "sdf_corpus", "generate", str(spec()), "--batch", "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == PermanentError.exit_code == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and KEY not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert "400" in line and "invalid_request_error" in line
