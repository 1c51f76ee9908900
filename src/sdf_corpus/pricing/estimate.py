"""What a build will cost, before anything is spent (`sdf-corpus plan --estimate`).

Method, per genre and stage (the numbers are module constants, stated in
docs/cost.md and printed with every estimate):

- requests = planned jobs of the genre (one request per job per stage; retries,
  failed jobs and top-up rounds are not included);
- input tokens: the stage's request is rendered for a few sample jobs of the
  genre with `chain.build_request`, exactly as generation would, with each
  earlier stage's output replaced by a placeholder of its expected length;
  characters / CHARS_PER_TOKEN, averaged over the samples;
- cached tokens: the shared prefix (constitution + genre instructions) when the
  backend caches it (anthropic, prefix >= MIN_CACHE_CHARS). The cache entry is
  shared by every stage of a genre and refreshed by every hit, so the estimate
  assumes ONE cache write per genre (the first request) and a read for every
  other request;
- output tokens: a stage that writes the document (its prompt asks for the
  target length, or it is the genre's output stage) is expected to write the
  genre's mean target length; any other stage (ideas, outlines, user turns)
  NON_DOCUMENT_SHARE of its max_tokens;
- cost: usage x the price table (the spec's `prices:`, else our Anthropic table
  in pricing.py, else litellm's model_cost), and x BATCH_DISCOUNT in batch mode.

The estimate claims +-SPREAD on the total. Extra stages (e.g. a judge stage)
join through `estimate_cost(..., extra_stages=...)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sdf_corpus.chain import build_request, output_stage_name, stages_for
from sdf_corpus.plan.planner import budget_allocation, iter_jobs, mean_length
from sdf_corpus.pricing import prices as pricing
from sdf_corpus.pricing.prices import MIN_CACHE_CHARS, ModelPrice, cost_usd
from sdf_corpus.prompts import job_context
from sdf_corpus.spec.genres import Stage
from sdf_corpus.spec.load import Corpus
from sdf_corpus.targets import Target, batch_supported, default_target, stage_target

__all__ = ["Estimate", "StageEstimate", "estimate_cost", "format_estimate", "resolve_price"]

SPREAD = 0.25
CHARS_PER_TOKEN = 4.0
NON_DOCUMENT_SHARE = 0.5
LIST_ITEMS = 5  # a list stage is read by later stages as one of its ~5 items
SAMPLE_JOBS = 6
_TARGET_MARKERS = ("words.target", "length.target")


@dataclass
class StageEstimate:
    genre: str
    stage: str
    requests: int
    input_tokens: float = 0.0  # uncached input
    cache_write_tokens: float = 0.0
    cache_read_tokens: float = 0.0
    output_tokens: float = 0.0
    cost_usd: float | None = None
    batch_cost_usd: float | None = None
    model: str = ""  # the stage's own model when the spec names one (backend.stages)

    def price(self, price: ModelPrice | None, batch_ok: bool) -> None:
        if price is None:
            return
        usage = (
            round(self.input_tokens),
            round(self.output_tokens),
            round(self.cache_read_tokens),
            round(self.cache_write_tokens),
        )
        self.cost_usd = cost_usd(price, *usage)
        self.batch_cost_usd = cost_usd(price, *usage, batch=True) if batch_ok else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"genre": self.genre, "stage": self.stage, "requests": self.requests}
        out["model"] = self.model
        for key in ("input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens"):
            out[key] = round(getattr(self, key))
        out["cost_usd"] = _round(self.cost_usd)
        out["batch_cost_usd"] = _round(self.batch_cost_usd)
        return out


@dataclass
class Estimate:
    model: str
    price: ModelPrice | None
    price_source: str
    batch_available: bool
    lines: list[StageEstimate] = field(default_factory=list)
    spread: float = SPREAD
    # genre -> why its shared prefix is sent uncached (so no "cached prefix" claim for it)
    not_cached: dict[str, str] = field(default_factory=dict)
    # model -> its price, for lines on another model than the run's (backend.stages)
    line_prices: dict[str, ModelPrice] = field(default_factory=dict)

    def assumptions(self) -> list[str]:
        """ASSUMPTIONS, with the caching line saying what this estimate actually assumed."""
        genres = {line.genre for line in self.lines}
        uncached = sorted(set(self.not_cached) & genres)
        out = list(ASSUMPTIONS)
        if not uncached:
            return out
        reasons = sorted({self.not_cached[g] for g in uncached})
        note = f"no prompt caching for {', '.join(uncached)}: {'; '.join(reasons)}"
        if len(uncached) == len(genres):
            out[_CACHE_LINE] = note
        else:
            out.insert(_CACHE_LINE + 1, note)
        return out

    def extend(self, lines: Sequence[StageEstimate]) -> None:
        """Add stages priced elsewhere (e.g. a judge pass) to the same totals; a line
        already priced at its own model (backend.stages) keeps that price."""
        for line in lines:
            if not line.model:
                line.model = self.model
                line.price(self.price, self.batch_available)
            self.lines.append(line)

    def by_model(self) -> list[dict[str, Any]]:
        """Spend per stage and model, summed over genres: where a stage mix puts the money."""
        groups: dict[tuple[str, str], list[StageEstimate]] = {}
        for line in self.lines:
            groups.setdefault((line.stage, line.model or self.model), []).append(line)
        out = []
        for (stage, model), lines in groups.items():
            costs = [x.cost_usd for x in lines]
            batch = [x.batch_cost_usd for x in lines]
            out.append(
                {
                    "stage": stage,
                    "model": model,
                    "requests": sum(x.requests for x in lines),
                    "cost_usd": None if None in costs else _round(sum(c or 0 for c in costs)),
                    "batch_cost_usd": None if None in batch else _round(sum(b or 0 for b in batch)),
                }
            )
        return out

    def total(self, key: str) -> float | None:
        values = [getattr(line, key) for line in self.lines]
        return None if any(v is None for v in values) else float(sum(values))

    def batch_without_cache_hits(self) -> float | None:
        """Upper figure for batch mode: batch caching is best-effort, every read may miss."""
        if self.price is None or not self.batch_available:
            return None
        total = 0.0
        for x in self.lines:
            if x.batch_cost_usd is None:
                return None
            # A line's cache share at its model's full input rate: what no hit costs.
            price = self.line_prices.get(x.model, self.price)
            total += cost_usd(
                price,
                round(x.input_tokens),
                round(x.output_tokens),
                0,
                round(x.cache_read_tokens + x.cache_write_tokens),
                batch=True,
            )
        return total

    def as_dict(self) -> dict[str, Any]:
        totals: dict[str, Any] = {"requests": sum(x.requests for x in self.lines)}
        for key in ("input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens"):
            totals[key] = round(self.total(key) or 0)
        for key in ("cost_usd", "batch_cost_usd"):
            totals[key] = _round(self.total(key))
        totals["batch_no_cache_hits_usd"] = _round(self.batch_without_cache_hits())
        return {
            "by_stage_model": self.by_model(),
            "model": self.model,
            "price_source": self.price_source,
            "price_per_mtok": None
            if self.price is None
            else {
                "input": self.price.input,
                "output": self.price.output,
                "cache_read": self.price.cache_read,
                "cache_write": self.price.cache_write,
            },
            "spread": self.spread,
            "stages": [line.as_dict() for line in self.lines],
            "totals": totals,
            "assumptions": self.assumptions(),
        }


ASSUMPTIONS = [
    f"tokens = characters / {CHARS_PER_TOKEN:g} (English prose; real tokenizers vary ~10%)",
    "one request per job and stage: retries, failed jobs and top-up rounds are not included",
    "cached prefix: one cache write per genre, every other request reads it "
    "(the cache is shared by all stages of a genre and refreshed on each hit)",
    "document stages write the genre's mean target length; other stages "
    f"{NON_DOCUMENT_SHARE:.0%} of their max_tokens",
    "batch mode: every token class at the batch discount; batch cache hits are best-effort "
    "(see batch_no_cache_hits_usd for the figure if none hit)",
    f"claimed spread: +-{SPREAD:.0%} on the total",
]
_CACHE_LINE = 2


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def resolve_price(corpus: Corpus) -> tuple[ModelPrice | None, str]:
    backend = corpus.spec.backend
    return pricing.resolve_price(corpus.spec.prices, backend.provider, backend.model)


def estimate_cost(
    corpus: Corpus,
    *,
    extra_stages: Mapping[str, Sequence[Stage]] | None = None,
    counts: Mapping[str, int] | None = None,
) -> Estimate:
    """Tokens and cost per genre and stage for the planned jobs (see module doc);
    `counts` (jobs per genre) replaces the budget's allocation, as for probe sets.
    Each stage is priced at its own model (`backend.stages`), immediate and batch."""
    price, source = resolve_price(corpus)
    provider = corpus.spec.backend.provider
    model = corpus.spec.backend.model
    estimate = Estimate(model, price, source, batch_supported(provider, model))
    if counts is None:
        counts = budget_allocation(corpus).jobs
    for genre, n in counts.items():
        if n <= 0:
            continue
        stages = [*stages_for(corpus.genres[genre], provider), *(extra_stages or {}).get(genre, ())]
        lines = _genre_lines(corpus, genre, stages, n)
        if not any(line.cache_write_tokens or line.cache_read_tokens for line in lines):
            estimate.not_cached[genre] = _why_not_cached(provider)
        for line in lines:
            _price_line(corpus, estimate, line)
        estimate.extend(lines)
    return estimate


def _price_line(corpus: Corpus, estimate: Estimate, line: StageEstimate) -> None:
    """Price a stage that runs on its own model at that model's rates."""
    target = stage_target(corpus.spec, line.genre, line.stage)
    if target == default_target(corpus.spec):
        return
    price, _ = pricing.resolve_price(corpus.spec.prices, target.provider, target.model)
    line.model = target.model
    if price is not None:
        estimate.line_prices[target.model] = price
    line.price(price, batch_supported(target.provider, target.model))


def _why_not_cached(provider: str) -> str:
    if provider != "anthropic":
        return f"the {provider} backend does not cache prompts; the prefix is paid as input"
    return (
        f"the shared prefix is under the {MIN_CACHE_CHARS:,}-character caching minimum, "
        "so every request pays it as uncached input"
    )


def _genre_lines(
    corpus: Corpus, genre: str, stages: Sequence[Stage], n: int
) -> list[StageEstimate]:
    provider = corpus.spec.backend.provider
    samples = list(iter_jobs(corpus, {genre: min(n, SAMPLE_JOBS)}))
    contexts = [job_context(corpus, job) for job in samples]
    lines: list[StageEstimate] = []
    prefixes: set[str] = set()  # a constitution naming the subject gives cast jobs their own
    written: set[Target] = set()  # a prompt cache is per model: each writes its own
    for stage in stages:
        plain = prefix = 0.0
        for job, context in zip(samples, contexts, strict=True):
            request = build_request(corpus, job, stage, context, provider)
            plain += len(request.prompt) + len(request.system) + len(request.prefill)
            prefix += len(request.cache_prefix)
            prefixes.add(request.cache_prefix)
        plain, prefix = plain / len(samples), prefix / len(samples)
        out_tokens = _expected_output(corpus, genre, stage)
        for context in contexts:
            context["stages"][stage.name] = _placeholder(stage, out_tokens)
        line = StageEstimate(genre, stage.name, n, output_tokens=n * out_tokens)
        target = stage_target(corpus.spec, genre, stage.name)
        cached = target.provider == "anthropic" and prefix >= MIN_CACHE_CHARS
        if not cached:
            plain += prefix
        line.input_tokens = n * plain / CHARS_PER_TOKEN
        if cached:
            # the genre's first request (per distinct prefix) on each model writes it
            writes = len(prefixes) if target not in written else 0
            written.add(target)
            line.cache_write_tokens = writes * prefix / CHARS_PER_TOKEN
            line.cache_read_tokens = (n - writes) * prefix / CHARS_PER_TOKEN
        lines.append(line)
    return lines


def _expected_output(corpus: Corpus, genre: str, stage: Stage) -> float:
    provider = corpus.spec.backend.provider
    text = stage.prompt + stage.system
    writes_document = any(m in text for m in _TARGET_MARKERS) or stage.name == output_stage_name(
        corpus.genres[genre], provider
    )
    if writes_document:
        return float(min(stage.max_tokens, mean_length(corpus, genre)))
    return stage.max_tokens * NON_DOCUMENT_SHARE


def _placeholder(stage: Stage, tokens: float) -> str:
    chars = int(tokens * CHARS_PER_TOKEN)
    if stage.parse == "list":
        chars //= LIST_ITEMS
    return ("lorem ipsum " * (chars // 12 + 1))[:chars]


def format_estimate(estimate: Estimate, max_cost: float | None = None) -> str:
    rows = [
        (
            "genre",
            "stage",
            "model",
            "requests",
            "input",
            "cache write",
            "cache read",
            "output",
            "immediate $",
            "batch $",
        )
    ]
    for x in estimate.lines:
        rows.append(
            (
                x.genre,
                x.stage,
                x.model or estimate.model,
                f"{x.requests:,}",
                f"{x.input_tokens:,.0f}",
                f"{x.cache_write_tokens:,.0f}",
                f"{x.cache_read_tokens:,.0f}",
                f"{x.output_tokens:,.0f}",
                _usd(x.cost_usd),
                _usd(x.batch_cost_usd),
            )
        )
    d = estimate.as_dict()["totals"]
    rows.append(
        (
            "TOTAL",
            "",
            "",
            f"{d['requests']:,}",
            f"{d['input_tokens']:,}",
            f"{d['cache_write_tokens']:,}",
            f"{d['cache_read_tokens']:,}",
            f"{d['output_tokens']:,}",
            _usd(d["cost_usd"]),
            _usd(d["batch_cost_usd"]),
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        cells += [c.rjust(w) for c, w in zip(row[3:], widths[3:], strict=True)]
        out.append("  ".join(cells))
        if n in (0, len(rows) - 2):
            out.append("  ".join("-" * w for w in widths))
    out.append(
        f"prices: {estimate.model} from {estimate.price_source}; "
        f"estimate claims +-{estimate.spread:.0%}"
    )
    out.extend(_by_model_lines(estimate))
    if d["batch_no_cache_hits_usd"] is not None:
        out.append(f"batch with no cache hits at all: {_usd(d['batch_no_cache_hits_usd'])}")
    out.extend(f"  assumes {a}" for a in estimate.assumptions()[:-1])
    out.extend(_max_cost_notes(estimate, max_cost))
    return "\n".join(out)


def _by_model_lines(estimate: Estimate) -> list[str]:
    """Spend per stage and model, when stages run on more than one model."""
    rows = estimate.by_model()
    if len({r["model"] for r in rows}) < 2:
        return []
    out = ["spend per stage and model (immediate / batch):"]
    for r in rows:
        out.append(
            f"  {r['stage']:<12} {r['model']:<28} {r['requests']:>9,} requests  "
            f"{_usd(r['cost_usd'])} / {_usd(r['batch_cost_usd'])}"
        )
    return out


def _max_cost_notes(estimate: Estimate, max_cost: float | None) -> list[str]:
    if max_cost is None:
        return []
    notes = []
    for mode, key in (("immediate", "cost_usd"), ("batch", "batch_cost_usd")):
        total = estimate.total(key)
        if total is not None and total > max_cost:
            notes.append(
                f"warning: the {mode} estimate {_usd(total)} exceeds --max-cost "
                f"{_usd(max_cost)}: the build would stop after about "
                f"{max_cost / total:.0%} of its spend"
            )
    return notes


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.4f}"
