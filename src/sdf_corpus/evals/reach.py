"""Before an evaluation starts: the token table offline, and one bounded request to
each model so that a server nobody answers, or a model it refuses, ends in one line.

Inspect retries connection errors with no limit unless told otherwise (its
backoff grows to 30 minutes between attempts), so a wrong base URL would hang
`sdf-corpus eval` instead of failing. The same bounds as generation's circuit
breaker (generate/breaker.py) apply here: a server that cannot be reached for
`connect_grace` seconds before anything has answered, or a refusal of the
account or the model id, stops the evaluation with ProviderStoppedError (exit 5)
before any sample runs. Once the check has succeeded, a lost connection is an
outage Inspect's own backoff rides out, as generation's does.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from sdf_corpus.errors import ProviderError, ProviderStoppedError
from sdf_corpus.generate.breaker import account_refusal

__all__ = ["check_reachable", "offline_token_table"]

# tiktoken names its cache files by the sha1 of the table's URL; this is o200k_base's,
# the table Inspect's mock model (and its default token estimate) counts with.
_O200K = "fb374d419588a4632f3f557e76b4b70aebbca790"
# Local providers: nothing to reach, and the mock model's outputs may be scripted.
_NO_SERVER = {"mockllm", "hf", "none"}
# Worth asking again within the grace, as generation's backoff would: a server
# still loading its model answers 503, a busy one 429.
_TRANSIENT = {408, 429, 500, 502, 503, 504, 529}


def offline_token_table() -> None:
    """Point tiktoken at the o200k_base table that litellm (a core dependency) ships,
    unless TIKTOKEN_CACHE_DIR already says where to look. tiktoken would otherwise
    download it at first use, so `eval --model mockllm/model` needed the network."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    spec = importlib.util.find_spec("litellm")  # found, not imported: litellm is slow to load
    for root in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(root) / "litellm_core_utils" / "tokenizers"
        if (folder / _O200K).is_file():
            os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
            return


def check_reachable(models: dict[str, str], grace: float) -> None:
    """Send one one-token request to each named model (keyed by its CLI option);
    raise ProviderStoppedError naming the model, its URL and the setting to fix when
    one cannot be reached within `grace` seconds or refuses."""
    import anyio
    from inspect_ai.model import get_model

    checked: set[str] = set()
    for option, name in models.items():
        if name in checked or name.split("/", 1)[0] in _NO_SERVER:
            continue
        checked.add(name)
        # A model of its own: its client lives on this check's event loop, not Inspect's.
        model = get_model(name, memoize=False)
        try:
            anyio.run(_ping, model, grace)
        except _Unreachable as exc:
            said = f"{exc}, for {grace:g} s"
            raise ProviderStoppedError(_unreachable(option, model, said)) from None
        except Exception as exc:
            raise ProviderStoppedError(_refused(option, model, exc)) from None


class _Unreachable(Exception):
    pass


async def _ping(model: Any, grace: float) -> None:
    """One attempt after another (Inspect's own retries off) until one is answered,
    one is refused, or `grace` seconds pass; a hung connection counts as no answer."""
    import anyio
    from inspect_ai.model import GenerateConfig

    config = GenerateConfig(max_tokens=1, max_retries=0)
    said = "no reply"
    with anyio.move_on_after(grace):
        while True:
            try:
                await model.generate("Reply with OK.", config=config)
                return
            except Exception as exc:
                if not (_is_connection(exc) or _status(exc) in _TRANSIENT):
                    raise
                said = _said(exc)
            await anyio.sleep(0.5)
    raise _Unreachable(said)


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _said(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _url(model: Any) -> str:
    api = getattr(model, "api", None)
    # Inspect's openai/ keeps OPENAI_BASE_URL on its client, not on the provider.
    url = getattr(api, "base_url", None) or getattr(getattr(api, "client", None), "base_url", None)
    return str(url or "its default URL").rstrip("/")


def _base_url_variable(model: Any) -> str:
    parts = str(model).split("/")
    service = parts[1] if parts[0] == "openai-api" and len(parts) > 2 else parts[0]
    return f"{service.upper().replace('-', '_')}_BASE_URL"


def _key_variable(model: Any) -> str:
    """The variable the key came from (openai/ lists Azure's and Bedrock's too)."""
    names = list(getattr(getattr(model, "api", None), "api_key_vars", None) or [])
    used = [name for name in names if os.environ.get(name)]
    return str((used or names or ["the provider's key variable"])[0])


def _unreachable(option: str, model: Any, said: str) -> str:
    return (
        f"stopped: {option} {model}: no answer from {_url(model)} ({said}); check "
        f"{_base_url_variable(model)} and that the server is running. No sample was run"
    )


def _refused(option: str, model: Any, exc: BaseException) -> str:
    said, status = _said(exc), _status(exc)
    kind = account_refusal(ProviderError(said, status=status))
    if kind in ("authentication", "permission", "billing"):
        fix = f"check the key ({_key_variable(model)}) and that {_base_url_variable(model)} is "
        fix += "the server it belongs to"
    elif kind in ("not_found", "invalid_model"):
        fix = f"check the model name is one {_url(model)} serves"
    else:
        fix = f"check {_base_url_variable(model)} and the model name"
    return f"stopped: {option} {model}: {_url(model)} refused a one-token request ({said}); {fix}"


def _is_connection(exc: BaseException) -> bool:
    """A failure to reach the server at all, whichever client library raised it."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain of causes, bounded in case it loops
        if seen is None:
            return False
        if "Connect" in type(seen).__name__ or isinstance(seen, ConnectionError | OSError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
