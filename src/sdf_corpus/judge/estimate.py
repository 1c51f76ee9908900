"""The judge's share of `plan --estimate`: one request per document expected to
survive cleaning, priced at the judge model's own rates."""

from __future__ import annotations

from sdf_corpus.judge.backend import judge_backend_spec
from sdf_corpus.judge.rubric import load_rubric
from sdf_corpus.plan.planner import budget_allocation, mean_length
from sdf_corpus.pricing.estimate import CHARS_PER_TOKEN, Estimate, StageEstimate
from sdf_corpus.pricing.prices import cost_usd, resolve_price
from sdf_corpus.spec.load import Corpus

__all__ = ["add_judge_estimate"]

ANSWER_TOKENS = 350  # five scores and five one-sentence justifications


def add_judge_estimate(corpus: Corpus, estimate: Estimate) -> None:
    if not corpus.spec.judge.enabled:
        return
    spec = judge_backend_spec(corpus)
    rubric = load_rubric(corpus.spec.judge.rubric, corpus.path.resolve().parent)
    price = resolve_price(corpus.spec.prices, spec.provider, spec.model)[0]
    keep = 1.0 - corpus.spec.budget.expected_drop_rate
    sample = corpus.constitution.principles[0]
    for genre, n in budget_allocation(corpus).jobs.items():
        docs = round(n * keep)
        if docs <= 0:
            continue
        doc_chars = mean_length(corpus, genre) * CHARS_PER_TOKEN
        prompt = rubric.render(
            document="",
            genre=genre,
            family=corpus.genres[genre].family,
            principle={"title": sample.title, "text": sample.text},
        )
        per_request = (len(prompt) + len(rubric.system) + doc_chars) / CHARS_PER_TOKEN
        line = StageEstimate(
            genre,
            "judge",
            docs,
            input_tokens=docs * per_request,
            output_tokens=docs * ANSWER_TOKENS,
        )
        if price is not None:
            usage = (round(line.input_tokens), round(line.output_tokens))
            line.cost_usd = cost_usd(price, *usage)
            line.batch_cost_usd = None  # the judge runs immediately, not through batches
            if estimate.batch_available:
                line.batch_cost_usd = line.cost_usd
        estimate.lines.append(line)
