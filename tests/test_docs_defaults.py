"""The figures the docs promise are read from the code, so the two cannot drift apart."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from sdf_corpus.clean.config import CleanConfig
from sdf_corpus.cli import main
from sdf_corpus.pipeline import LENGTH_BAND_SLACK
from sdf_corpus.pricing.estimate import CHARS_PER_TOKEN, SPREAD
from sdf_corpus.pricing.prices import BATCH_DISCOUNT, MIN_CACHE_CHARS

REPO = Path(__file__).resolve().parents[1]
CLEAN_MD = (REPO / "docs" / "clean.md").read_text(encoding="utf-8")
COST_MD = (REPO / "docs" / "cost.md").read_text(encoding="utf-8")
_ROW = re.compile(r"^\| `([a-z_.]+)` \| `([^`]*)` \|", re.MULTILINE)


def _settings(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, field in model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            yield from _settings(type(default), f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", default


def test_every_clean_setting_is_documented_with_the_code_default() -> None:
    documented = {key: json.loads(value) for key, value in _ROW.findall(CLEAN_MD)}
    in_code = dict(_settings(CleanConfig))
    assert set(in_code) - set(documented) == set(), "settings missing from docs/clean.md"
    assert set(documented) - set(in_code) == set(), "docs/clean.md lists settings the code lacks"
    for key, default in in_code.items():
        assert documented[key] == default, key


def test_clean_filter_table_quotes_the_code_defaults() -> None:
    f = CleanConfig().filters
    table = CLEAN_MD[CLEAN_MD.index("## Filters (in order)") : CLEAN_MD.index("## Deduplication")]
    for fragment in (
        f"`max_trim_chars` ({f.max_trim_chars})",
        f"≥ {f.truncated_min_keep_frac:.0%}".replace("%", " %"),
        f"≥ {f.truncated_min_keep_chars} chars",
        f"default_min_tokens={f.default_min_tokens}",
        f"default_max_tokens={f.default_max_tokens}",
        f"fewer than {f.min_stopwords} occurrences",
        f"> {f.max_symbol_word_ratio:g} `#`",
        f"> {f.max_non_alpha_word_frac:.0%}".replace("%", " %"),
        "/".join(f"{x:.2f}" for x in f.max_top_ngram_frac),
        f"> {f.max_dup_ngram_frac[0]:.2f}…{f.max_dup_ngram_frac[-1]:.2f}",
        f"min × {LENGTH_BAND_SLACK[0]:g} and max × {LENGTH_BAND_SLACK[1]:g}",
        f"`excluded_names` (default `{json.dumps(CleanConfig().excluded_names)}`)".replace(
            '"', '"'
        ),
    ):
        assert fragment in table, fragment


def test_dedup_table_quotes_the_code_defaults() -> None:
    d = CleanConfig().dedup
    rows = dict(re.findall(r"^\| `([a-z_ ×]+)` \| ([^|]+?) \|", CLEAN_MD, re.MULTILINE))
    assert rows["ngram"] == str(d.ngram)
    assert rows["num_perm"] == str(d.num_perm)
    assert rows["bands × rows"] == f"{d.bands} × {d.rows}"
    assert rows["threshold"] == f"{d.threshold:g}"
    assert rows["batch_size"] == str(d.batch_size)


def test_cost_doc_quotes_the_code_constants() -> None:
    assert f"BATCH_DISCOUNT  ({BATCH_DISCOUNT:g})" in COST_MD
    assert f"`MIN_CACHE_CHARS` ({MIN_CACHE_CHARS:,} characters" in COST_MD
    assert f"claims ±{SPREAD:.0%} on the total" in COST_MD
    assert f"Characters ÷ {CHARS_PER_TOKEN:g}" in COST_MD


@pytest.mark.parametrize("key", ["totals", "stages", "assumptions", "price_source", "spread"])
def test_cost_doc_names_the_estimate_keys_plan_prints(key: str, tmp_path: Path) -> None:
    import yaml

    spec = tmp_path / "s.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "d",
                "constitution": str(REPO / "constitution" / "example.md"),
                "genres": ["faq"],
                "personas": str(REPO / "personas"),
                "budget": {"tokens": 3000},
                "backend": {"provider": "anthropic", "model": "claude-haiku-4-5"},
                "output": str(tmp_path / "run"),
            }
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["plan", str(spec), "--estimate", "--json"])
    assert result.exit_code == 0, result.output
    estimate = json.loads(result.stdout)["estimate"]
    assert key in estimate
    assert f"`{key}`" in COST_MD
    for total in estimate["totals"]:
        assert f"`{total}`" in COST_MD or total.endswith("_tokens"), total
