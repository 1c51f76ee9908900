from __future__ import annotations

import pytest

from sdf_corpus.pricing.prices import (
    ANTHROPIC_PRICES,
    BATCH_DISCOUNT,
    ModelPrice,
    cost_usd,
    lookup_price,
)

PRICE = ModelPrice(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)


def test_cost_adds_every_token_class_separately() -> None:
    # Anthropic's input_tokens exclude cached tokens, so each class is priced once.
    cost = cost_usd(PRICE, 1_000_000, 100_000, cache_read=2_000_000, cache_write=400_000)
    assert cost == pytest.approx(3.0 + 1.5 + 0.6 + 1.5)


def test_batch_discount_applies_to_all_four_classes() -> None:
    full = cost_usd(PRICE, 1000, 2000, 3000, 4000)
    assert cost_usd(PRICE, 1000, 2000, 3000, 4000, batch=True) == pytest.approx(
        full * BATCH_DISCOUNT
    )
    assert BATCH_DISCOUNT == 0.5


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-haiku-4-5", "claude-haiku-4-5"),
        ("anthropic/claude-opus-5", "claude-opus-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-sonnet-5[1m]", "claude-sonnet-5"),
    ],
)
def test_lookup_tolerates_dates_aliases_and_prefixes(model: str, family: str) -> None:
    assert lookup_price(model) == ANTHROPIC_PRICES[family]


def test_lookup_unknown_is_none_and_custom_tables_win() -> None:
    assert lookup_price("gpt-unknown") is None
    table = {"openai/fake-model": PRICE}
    assert lookup_price("openai/fake-model", table) == PRICE
    assert lookup_price("claude-opus-5", table) is None


def test_table_rows_are_consistent() -> None:
    for name, price in ANTHROPIC_PRICES.items():
        assert price.cache_read < price.input < price.cache_write < price.output * 2, name
    sonnet = ANTHROPIC_PRICES["claude-sonnet-4-5"]
    assert sonnet.cache_write == pytest.approx(sonnet.input * 1.25)
    assert sonnet.cache_read == pytest.approx(sonnet.input * 0.1)
