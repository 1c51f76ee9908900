"""Judge every kept document of a run that has no judgement under this rubric yet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from sdf_corpus.errors import (
    BudgetError,
    JudgeShortError,
    ProviderError,
    ProviderStoppedError,
)
from sdf_corpus.generate.backends.base import Backend
from sdf_corpus.generate.executor import CostGuard, Executor
from sdf_corpus.judge.backend import judge_backend_spec
from sdf_corpus.judge.rubric import JudgeParseError, Rubric
from sdf_corpus.pricing.prices import ModelPrice
from sdf_corpus.runfolder import RunFolder
from sdf_corpus.runfolder.rows import iter_rows
from sdf_corpus.sampling import Request
from sdf_corpus.spec.load import Corpus
from sdf_corpus.spec.models import BackendSpec
from sdf_corpus.spec.subject import name_rule
from sdf_corpus.store import JudgeStore, Store

__all__ = ["GIVE_UP_AFTER", "JudgeResult", "check_judged_share", "judge_run"]

# Documents whose answers never parsed, with none parsed in this run, before the judge stops.
GIVE_UP_AFTER = 10


@dataclass
class JudgeResult:
    judged: int = 0
    unjudged: int = 0
    failed: int = 0  # provider errors: left for the next run
    requests: int = 0
    stopped: str = "complete"
    documents: int = 0  # in the shards, judged in any run or not
    judged_total: int = 0  # of those, with scores under this rubric

    def sentence(self) -> str:
        """What the judge did, in words, for the end-of-run summary."""
        text = (
            f"judge: {self.judged_total:,} of {self.documents:,} documents have scores "
            f"({self.judged:,} judged in this run"
            if self.documents
            else f"judge: stopped ({self.stopped}) before the share was counted ({self.judged:,} "
            "judged in this run"
        )
        if self.unjudged:
            text += f", {self.unjudged:,} never gave an answer that parsed"
        if self.failed:
            text += f", {self.failed:,} hit provider errors and will be asked again next run"
        return text + f"; {self.requests:,} judge requests)"


def _documents(
    run_dir: Any,
    skip: set[str],
    columns: tuple[str, ...] = ("id", "text", "genre", "principle_id", "persona_id"),
) -> Iterator[dict[str, Any]]:
    for row in iter_rows(RunFolder(run_dir).shards(), columns, batch_size=512):
        if row["id"] not in skip:
            yield row


class _Judge:
    def __init__(
        self, corpus: Corpus, store: JudgeStore, rubric: Rubric, executor: Executor, bar: tqdm
    ) -> None:
        self.corpus, self.store, self.rubric, self.executor = corpus, store, rubric, executor
        self.bar, self.result, self.stop = bar, JudgeResult(), False
        self.stopped_by: ProviderStoppedError | None = None

    async def worker(self, docs: Iterator[dict[str, Any]]) -> None:
        while not self.stop:
            doc = next(docs, None)
            if doc is None:
                return
            try:
                await self.judge(doc)
            except BudgetError:
                self.stop, self.result.stopped = True, "max_cost"
                return
            except ProviderStoppedError as exc:
                self.stop, self.result.stopped, self.stopped_by = True, "provider", exc
                return
            self.bar.update(1)

    async def judge(self, doc: dict[str, Any]) -> None:
        genre = self.corpus.genres.get(doc["genre"])
        family = genre.family if genre else "document"
        principle = self._principle(doc["principle_id"], doc.get("persona_id") or "")
        prompt = self.rubric.render(
            document=doc["text"], genre=doc["genre"], family=family, principle=principle
        )
        request = Request(
            prompt=prompt,
            system=self.rubric.system,
            temperature=0.0,
            max_tokens=self.corpus.spec.judge.max_tokens,
            custom_id=f"{doc['id']}-judge",
        )
        attempts = self.corpus.spec.judge.parse_attempts
        for n in range(1, attempts + 1):
            try:
                completion, started = await self.executor.call(doc["id"], "judge", request)
            except ProviderError:
                self.result.failed += 1
                return
            try:
                judgement = self.rubric.parse(completion.text, genre=doc["genre"], family=family)
            except JudgeParseError as exc:
                self.store.record(
                    doc["id"], completion, started, None, error=str(exc), final=n == attempts
                )
                continue
            self.store.record(doc["id"], completion, started, judgement, final=True)
            self.result.judged += 1
            return
        self.result.unjudged += 1
        if self.result.unjudged >= GIVE_UP_AFTER and self.result.judged == 0:
            # Nothing has parsed yet: paying for the rest would buy the same. The share
            # check then fails the step, and a re-run tries the untouched documents again.
            self.stop = True

    def _principle(self, principle_id: str, persona_id: str) -> dict[str, str]:
        try:
            p = self.corpus.constitution.by_id(principle_id)
        except KeyError:
            return {"title": principle_id or "(none)", "text": "(not given)"}
        # A cast document was written from the principle speaking of its own character;
        # the judge checks fidelity against that same text.
        cast = next((c for c in self.corpus.personas.ai if c.id == persona_id), None)
        if cast is None:
            return {"title": p.title, "text": p.text}
        rule = name_rule(tuple(self.corpus.spec.subject.names()))
        return {
            "title": rule.speak_of(p.title, cast.name),
            "text": rule.speak_of(p.text, cast.name),
        }


async def _run(
    corpus: Corpus,
    ledger: Store,
    backend: Backend,
    rubric: Rubric,
    spec: BackendSpec,
    max_cost: float | None,
    price: ModelPrice | None,
    progress: bool,
) -> JudgeResult:
    store = JudgeStore(ledger, rubric.digest())
    done = store.done()
    # Counting for the progress bar reads only the ids, not every text a second time.
    pending = sum(1 for _ in _documents(corpus.run_dir, done, columns=("id",)))
    guard = CostGuard(max_cost, ledger.totals().cost_usd, price)
    executor = Executor(backend, spec, ledger, guard, setting="judge")
    bar = tqdm(total=pending, unit="doc", desc="judge", disable=not progress, mininterval=0.5)
    judge = _Judge(corpus, store, rubric, executor, bar)
    docs = _documents(corpus.run_dir, done)
    try:
        await asyncio.gather(*(judge.worker(docs) for _ in range(spec.concurrency)))
    finally:
        bar.close()
        await backend.aclose()
    judge.result.requests = executor.requests
    if judge.stopped_by is not None:
        raise judge.stopped_by  # judgements made so far are committed
    return judge.result


def judge_run(
    corpus: Corpus, ledger: Store, rubric: Rubric, *, max_cost: float | None, progress: bool
) -> JudgeResult:
    from sdf_corpus.generate.backends import make_backend
    from sdf_corpus.pricing.prices import resolve_price, spec_table

    spec = judge_backend_spec(corpus)
    prices = spec_table(corpus.spec.prices)
    backend = make_backend(
        spec.provider,
        spec.model,
        api_base=spec.api_base,
        timeout=spec.timeout,
        prices=prices or None,
    )
    price = resolve_price(corpus.spec.prices, spec.provider, spec.model)[0]
    return asyncio.run(_run(corpus, ledger, backend, rubric, spec, max_cost, price, progress))


def check_judged_share(
    corpus: Corpus, result: JudgeResult, store: JudgeStore
) -> JudgeShortError | None:
    """Count what the shards hold against what has scores; the error to raise when
    fewer than judge.min_judged_share could be judged (the spend stays recorded)."""
    judged = store.judged()
    for row in _documents(corpus.run_dir, set(), columns=("id",)):
        result.documents += 1
        result.judged_total += row["id"] in judged
    minimum = corpus.spec.judge.min_judged_share
    if result.documents == 0 or result.judged_total >= minimum * result.documents:
        return None
    share = result.judged_total / result.documents
    return JudgeShortError(
        f"the judge scored only {result.judged_total:,} of {result.documents:,} documents "
        f"({share:.0%}; judge.min_judged_share is {minimum:.0%}): {result.unjudged:,} answers "
        f"in this run never parsed as the rubric's JSON and {result.failed:,} requests failed. "
        f"Its {result.requests:,} requests stay recorded (and paid for) in ledger.sqlite. "
        "Use a judge.model that follows the rubric, or lower judge.min_judged_share"
    )
