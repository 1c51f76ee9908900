"""The real SDKs against the loopback fake provider, plus the local GGUF model."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakeprovider.server import FakeProvider
from sdf_corpus.errors import (
    KeyMissingError,
    PermanentError,
    ProviderError,
    RetryableError,
    SpecError,
)
from sdf_corpus.generate.backends import make_backend
from sdf_corpus.generate.backends.base import Backend
from sdf_corpus.pricing.prices import ANTHROPIC_PRICES, ModelPrice, cost_usd
from sdf_corpus.sampling import Completion, Request

KEY = "sk-ant-test-DO-NOT-LEAK-4f9c2e"
LONG_PREFIX = "Constitution excerpt. " * 250  # ~5,500 chars: long enough to cache


def run(backend: Backend, request: Request) -> Completion:
    async def go() -> Completion:
        try:
            return await backend.complete(request)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def fail(backend: Backend, request: Request) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        run(backend, request)
    return caught.value


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as started:
        yield started


@pytest.fixture
def anthropic_backend(
    provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Backend]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)

    def build(model: str = "claude-opus-5", timeout: float = 5.0) -> Backend:
        return make_backend("anthropic", model, api_base=provider.url, timeout=timeout, prices=None)

    return build


@pytest.fixture
def litellm_backend(
    provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Backend]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def build(timeout: float = 5.0, prices: dict[str, ModelPrice] | None = None) -> Backend:
        return make_backend(
            "litellm",
            "openai/fake-model",
            api_base=provider.openai_base,
            timeout=timeout,
            prices=prices,
        )

    return build


# --- anthropic --------------------------------------------------------------


def test_anthropic_returns_text_usage_and_table_cost(
    anthropic_backend: Callable[..., Backend],
    provider: FakeProvider,
) -> None:
    done = run(anthropic_backend(), Request(prompt="Write a short essay.", system="Be plain."))
    assert len(done.text.split()) >= 150
    assert done.stop_reason == "end" and not done.truncated
    assert done.input_tokens > 0 and done.output_tokens > 0
    price = ANTHROPIC_PRICES["claude-opus-5"]
    assert done.cost_usd == pytest.approx(cost_usd(price, done.input_tokens, done.output_tokens))
    assert done.cost_source == "table"
    body = provider.requests[0]["body"]
    assert body["system"] == [{"type": "text", "text": "Be plain."}]


def test_anthropic_cache_prefix_is_written_then_read_and_priced(
    anthropic_backend: Callable[..., Backend],
    provider: FakeProvider,
) -> None:
    request = Request(prompt="Now write the post.", cache_prefix=LONG_PREFIX, system="Stage one.")
    first = run(anthropic_backend(), request)
    second = run(anthropic_backend(), request)
    assert first.cache_write_tokens > 1000 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_tokens and second.cache_write_tokens == 0
    price = ANTHROPIC_PRICES["claude-opus-5"]
    expected = cost_usd(
        price, second.input_tokens, second.output_tokens, cache_read=second.cache_read_tokens
    )
    assert second.cost_usd == pytest.approx(expected)
    assert second.cost_usd < first.cost_usd
    # The prefix leads the system blocks so that every stage of a genre, whatever its
    # own system text, shares one cache entry; the user turn carries only the prompt.
    body = provider.requests[0]["body"]
    block, stage_system = body["system"]
    assert block["cache_control"] == {"type": "ephemeral"} and block["text"] == LONG_PREFIX
    assert stage_system == {"type": "text", "text": "Stage one."}
    assert body["messages"][0]["content"] == [{"type": "text", "text": "Now write the post."}]
    other_stage = Request(prompt="Rewrite it.", cache_prefix=LONG_PREFIX, system="Stage two.")
    third = run(anthropic_backend(), other_stage)
    assert third.cache_read_tokens == first.cache_write_tokens


def test_anthropic_short_prefix_is_prepended_without_cache_marker(
    anthropic_backend: Callable[..., Backend],
    provider: FakeProvider,
) -> None:
    done = run(anthropic_backend(), Request(prompt="Write.", cache_prefix="Short rules."))
    assert done.cache_write_tokens == 0
    content = provider.requests[0]["body"]["messages"][0]["content"]
    assert content == [{"type": "text", "text": "Short rules.\n\nWrite."}]


def test_anthropic_native_prefill_is_a_trailing_assistant_turn(
    anthropic_backend: Callable[..., Backend],
    provider: FakeProvider,
) -> None:
    request = Request(prompt="Write a post.", prefill="Title: Tides\n\n", temperature=0.5)
    done = run(anthropic_backend("claude-haiku-4-5"), request)
    assert done.text.startswith("Title: Tides\n\n") and done.text.count("Title: Tides") == 1
    body = provider.requests[0]["body"]
    assert body["messages"][-1] == {"role": "assistant", "content": "Title: Tides"}
    assert body["temperature"] == 0.5


def test_anthropic_newer_models_get_prefill_as_instruction_and_no_sampling_params(
    monkeypatch: pytest.MonkeyPatch,
    provider: FakeProvider,
) -> None:
    # A model that obeys the instruction echoes the opening; it must be stored once.
    provider.responder = lambda prompt, body: "Title: Tides\n\nThe sea came in slowly."
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    backend = make_backend(
        "anthropic", "claude-opus-5", api_base=provider.url, timeout=5.0, prices=None
    )
    done = run(backend, Request(prompt="Write.", prefill="Title: Tides\n\n", temperature=0.3))
    assert done.text == "Title: Tides\n\nThe sea came in slowly."
    body = provider.requests[0]["body"]
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert "Title: Tides" in body["messages"][0]["content"][-1]["text"]
    assert "temperature" not in body


def test_anthropic_stop_sequences_and_truncation(
    anthropic_backend: Callable[..., Backend],
    provider: FakeProvider,
) -> None:
    done = run(anthropic_backend(), Request(prompt="Write.", max_tokens=20))
    assert done.stop_reason == "max_tokens" and done.truncated
    provider.inject("truncate")
    assert run(anthropic_backend(), Request(prompt="Write.")).truncated
    stopped = run(anthropic_backend(), Request(prompt="Write.", stop=("the",)))
    assert stopped.stop_reason == "stop_sequence"
    assert provider.requests[-1]["body"]["stop_sequences"] == ["the"]


FAULTS: list[tuple[str, dict[str, Any], type[ProviderError], int | None]] = [
    ("429", {"retry_after": 7}, RetryableError, 429),
    ("529", {}, RetryableError, 529),
    ("500", {}, RetryableError, 500),
    ("malformed", {}, RetryableError, None),
    ("slow", {"seconds": 3}, RetryableError, None),
    ("400", {"message": f"max_tokens too large (key {KEY})"}, PermanentError, 400),
]


@pytest.mark.parametrize(("kind", "options", "error", "status"), FAULTS)
def test_anthropic_faults_map_to_error_classes(
    anthropic_backend: Callable[..., Backend],
    provider: FakeProvider,
    kind: str,
    options: dict[str, Any],
    error: type[ProviderError],
    status: int | None,
) -> None:
    provider.inject(kind, **options)
    exc = fail(anthropic_backend(timeout=0.5), Request(prompt="Write."))
    assert type(exc) is error
    if status is not None:
        assert exc.status == status
    if kind == "429":
        assert isinstance(exc, RetryableError) and exc.retry_after == 7.0
    if kind == "400":
        assert "max_tokens too large" in str(exc)
    assert KEY not in str(exc) and KEY not in repr(exc)
    assert exc.__cause__ is None and exc.__context__ is None


def test_anthropic_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(KeyMissingError, match="ANTHROPIC_API_KEY"):
        make_backend("anthropic", "claude-opus-5", api_base=None, timeout=5.0, prices=None)


def test_anthropic_repr_hides_key(anthropic_backend: Callable[..., Backend]) -> None:
    assert KEY not in repr(anthropic_backend())


def test_anthropic_unknown_model_cost_is_flagged(
    anthropic_backend: Callable[..., Backend],
) -> None:
    done = run(anthropic_backend("claude-unreleased-9"), Request(prompt="Write."))
    assert done.cost_usd == 0.0 and done.cost_source == "unknown"


# --- litellm ------------------------------------------------------------------


def test_litellm_openai_compatible_server(
    litellm_backend: Callable[..., Backend],
    provider: FakeProvider,
) -> None:
    request = Request(prompt="Write.", system="Be plain.", cache_prefix="Rules.", stop=("zzz",))
    done = run(litellm_backend(), request)
    assert len(done.text.split()) >= 150 and done.stop_reason == "end"
    assert done.input_tokens > 0 and done.output_tokens > 0
    assert done.cost_source == "unknown" and done.cost_usd == 0.0
    body = provider.requests[0]["body"]
    assert body["model"] == "fake-model" and body["stop"] == ["zzz"]
    assert body["messages"][0] == {"role": "system", "content": "Be plain."}
    assert body["messages"][1]["content"] == "Rules.\n\nWrite."


def test_litellm_uses_our_price_table_when_given(litellm_backend: Callable[..., Backend]) -> None:
    price = ModelPrice(input=1.0, output=2.0, cache_read=0.1, cache_write=1.25)
    done = run(litellm_backend(prices={"openai/fake-model": price}), Request(prompt="Write."))
    assert done.cost_source == "table"
    assert done.cost_usd == pytest.approx(cost_usd(price, done.input_tokens, done.output_tokens))


def test_litellm_truncation(
    litellm_backend: Callable[..., Backend],
    provider: FakeProvider,
) -> None:
    provider.inject("truncate")
    assert run(litellm_backend(), Request(prompt="Write.")).stop_reason == "max_tokens"


@pytest.mark.parametrize(("kind", "options", "error", "status"), FAULTS)
def test_litellm_faults_map_to_error_classes(
    litellm_backend: Callable[..., Backend],
    provider: FakeProvider,
    kind: str,
    options: dict[str, Any],
    error: type[ProviderError],
    status: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", KEY)  # litellm reads keys from the env
    provider.inject(kind, **options)
    exc = fail(litellm_backend(timeout=0.5), Request(prompt="Write."))
    assert type(exc) is error
    if kind == "429":
        assert isinstance(exc, RetryableError) and exc.retry_after == 7.0
    if kind == "400":
        assert exc.status == 400 and "max_tokens too large" in str(exc)
    assert KEY not in str(exc) and exc.__context__ is None


# --- factory and local --------------------------------------------------------


def test_unknown_provider_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="unknown provider"):
        make_backend("nope", "m", api_base=None, timeout=1.0, prices=None)


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="llama-cpp-python is not installed (pip install 'sdf-corpus[local]')",
)
def test_local_gemma_generates_a_continuation() -> None:
    backend = make_backend(
        "local",
        "default",
        api_base=None,
        timeout=60.0,
        prices=None,
        local_options={"n_threads": 2, "n_ctx": 512},
    )
    request = Request(prompt="The history of the lighthouse", prefill=" begins", max_tokens=16)
    done = run(backend, request)
    assert done.text.startswith(" begins") and len(done.text) > len(" begins")
    assert done.output_tokens > 0 and done.input_tokens > 0
    assert done.cost_usd == 0.0 and done.cost_source == "free"
    assert done.stop_reason in ("max_tokens", "end")


# --- the fake provider itself ---------------------------------------------------


def test_fake_provider_records_requests_without_secrets(
    anthropic_backend: Callable[..., Backend], provider: FakeProvider
) -> None:
    run(anthropic_backend(), Request(prompt="Give me a list of ten story ideas."))
    assert provider.count == 1
    record = provider.requests[0]
    assert record["path"] == "/v1/messages"
    assert "x-api-key" not in record["headers"] and "authorization" not in record["headers"]
    assert KEY not in str(record)


def test_fake_provider_default_text_is_deterministic_and_lists_ideas(
    litellm_backend: Callable[..., Backend],
) -> None:
    ideas = run(litellm_backend(), Request(prompt="Give me a numbered list of story ideas.")).text
    assert [line.split(".")[0] for line in ideas.splitlines()] == ["1", "2", "3", "4", "5"]
    first = run(litellm_backend(), Request(prompt="Write an essay on tides.")).text
    again = run(litellm_backend(), Request(prompt="Write an essay on tides.")).text
    other = run(litellm_backend(), Request(prompt="Write an essay on bridges.")).text
    assert first == again != other


@pytest.mark.parametrize(
    ("variable", "expected"),
    [(None, False), ("OTEL_TRACES_EXPORTER", None), ("ANTHROPIC_OPEN_TELEMETRY", None)],
)
def test_sdk_spans_are_off_unless_tracing_is_configured(
    monkeypatch: pytest.MonkeyPatch, variable: str | None, expected: bool | None
) -> None:
    from sdf_corpus.generate.backends.anthropic import _telemetry

    for name in [k for k in os.environ if k.startswith(("OTEL_", "ANTHROPIC_OPEN_TELEMETRY"))]:
        monkeypatch.delenv(name)
    if variable is not None:
        monkeypatch.setenv(variable, "console" if variable.startswith("OTEL") else "true")
    assert _telemetry() is expected


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "claude-opus-4-7"])
@pytest.mark.parametrize(
    "request_",
    [
        Request(
            prompt="Write.",
            cache_prefix="c" * 5000,
            system="Be plain. é",
            prefill="Dear",
            temperature=0.5,
            stop=("END",),
        ),
        Request(prompt="Write."),
        Request(prompt="Write.", system="Be plain."),
        Request(prompt="Write.", cache_prefix="too short to cache"),
    ],
)
def test_request_body_is_the_params_as_json(model: str, request_: Request) -> None:
    from sdf_corpus.generate.backends.anthropic import build_params, request_body

    assert json.loads(request_body(model, request_)) == build_params(model, request_)
