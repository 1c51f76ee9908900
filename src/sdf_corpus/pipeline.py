"""The whole flow as library functions: generate, clean and build a run.

Each function takes a loaded `Corpus` and works in its run directory; the CLI
only parses options and calls one of these.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sdf_corpus.document import Document
from sdf_corpus.errors import SpecError
from sdf_corpus.generate.assemble import to_document
from sdf_corpus.generate.ledger import Ledger
from sdf_corpus.generate.pricing import ModelPrice, resolve_price, spec_table
from sdf_corpus.generate.runner import GenerateResult, RunOptions, run_generation
from sdf_corpus.generate.shard import Shard, shard_ledger_path
from sdf_corpus.plan.planner import allocate, iter_jobs
from sdf_corpus.plan.topup import Standing, size_top_up, standings
from sdf_corpus.spec.load import Corpus
from sdf_corpus.spec.personas import SUBJECT_ID

__all__ = [
    "BuildResult",
    "build",
    "clean_run",
    "generate",
    "open_ledger",
    "run_backend",
    "run_documents",
]


def open_ledger(corpus: Corpus, shard: Shard | None = None) -> Ledger:
    """The run's ledger, or one --shard slice's own ledger beside it."""
    if shard is not None:
        return Ledger(shard_ledger_path(corpus.run_dir, shard))
    return Ledger(corpus.run_dir / "ledger.sqlite")


def _check_backend_fit(corpus: Corpus) -> None:
    if corpus.spec.backend.provider != "local":
        return
    for name, genre in corpus.genres.items():
        if genre.local is None:
            raise SpecError(
                str(corpus.genre_paths[name]),
                "no `local` stage: the local backend runs a base model that needs a "
                "document-opening prompt",
                "add a `local:` stage or use another backend",
            )


def sync_plan(
    corpus: Corpus,
    ledger: Ledger,
    counts: dict[str, int] | None = None,
    shard: Shard | None = None,
) -> int:
    """Make the ledger's active jobs exactly the jobs the current spec derives:
    round 0 from the current budget (so raising it adds jobs and lowering it sets
    jobs aside, never regenerating one), then the recorded top-up rounds.
    `counts` (jobs per genre) replaces the budget's allocation: probe sets are
    sized by count, not by tokens. With `shard`, only that slice's jobs (a
    --shard ledger)."""
    ledger.add_round(0, counts or allocate(corpus, corpus.spec.budget.tokens).jobs)
    if ledger.get_meta("rounds_spec") != corpus.spec_hash():
        # A changed spec starts its own count of top-up rounds (budget.max_rounds).
        ledger.set_meta("rounds_spec", corpus.spec_hash())
        ledger.set_meta("rounds_from", str(max(r for r, _ in ledger.rounds()) + 1))
    _record_run_facts(corpus, ledger)
    jobs = _all_jobs(corpus, ledger)
    if shard is not None:
        jobs = (job for job in jobs if shard.owns(job.id))
    return ledger.sync_jobs(jobs)


def _record_run_facts(corpus: Corpus, ledger: Ledger) -> None:
    """What the report needs to read a run without its spec: targets and names."""
    from sdf_corpus.plan.planner import genre_targets

    weights = corpus.weights()
    facts = {
        "spec_hash": corpus.spec_hash(),
        "spec": corpus.spec.model_dump_json(),
        "targets": json.dumps(genre_targets(corpus)),
        "weights": json.dumps(weights),
        "principles": json.dumps(
            [
                {"id": p.id, "title": p.title, "section": p.section}
                for p in corpus.constitution.principles
            ]
        ),
        "ai_names": json.dumps(
            {SUBJECT_ID: corpus.spec.subject.name, **{p.id: p.name for p in corpus.personas.ai}}
        ),
        "subject": corpus.spec.subject.model_dump_json(),
        "subject_shares": json.dumps({n: g.share() for n, g in corpus.genres.items()}),
        "author_names": json.dumps({p.id: p.name for p in corpus.personas.authors}),
        "excluded_names": json.dumps(corpus.spec.excluded_names),
        # The dataset card names the prompts each genre was generated with.
        "genre_hashes": json.dumps({name: g.fingerprint() for name, g in corpus.genres.items()}),
    }
    for key, value in facts.items():
        ledger.set_meta(key, value)


def _all_jobs(corpus: Corpus, ledger: Ledger) -> Iterator[Any]:
    """Each round continues every genre's job numbers where the rounds before it
    stopped; the plan index runs on across rounds."""
    done: dict[str, int] = {}
    index = 0
    for round_no, counts in ledger.rounds():
        counts = {g: n for g, n in counts.items() if g in corpus.genres}
        yield from iter_jobs(
            corpus, counts, round_no=round_no, start_index=index, done_per_genre=dict(done)
        )
        for g, n in counts.items():
            done[g] = done.get(g, 0) + n
        index += sum(counts.values())


def price_for(corpus: Corpus) -> ModelPrice | None:
    """The generation model's price, for the --max-cost guard's worst-case reservation."""
    backend = corpus.spec.backend
    return resolve_price(corpus.spec.prices, backend.provider, backend.model)[0]


def make_run_backend(corpus: Corpus) -> Any:
    from sdf_corpus.generate.backends import make_backend

    spec = corpus.spec
    prices = spec_table(spec.prices)
    return make_backend(
        spec.backend.provider,
        spec.backend.model,
        api_base=spec.backend.api_base,
        timeout=spec.backend.timeout,
        prices=prices or None,
        local_options={"n_ctx": spec.backend.n_ctx, "seed": spec.seed},
    )


def generate(
    corpus: Corpus,
    options: RunOptions,
    *,
    retry_failed: bool = False,
    batch: bool = False,
    shard: Shard | None = None,
    workers: int = 1,
    counts: dict[str, int] | None = None,
) -> GenerateResult:
    """Generate every pending job of the run's plan; resumable at any point.

    `batch`: through the Message Batches API (anthropic only), at the batch discount.
    `counts`: jobs per genre instead of the budget's allocation (see sync_plan).
    `shard`: only that slice of the plan, into its own ledger (`merge` folds them).
    `workers`: that many processes over disjoint slices of the jobs, one ledger."""
    _check_generate_options(corpus, batch, workers)
    ledger = open_ledger(corpus, shard)
    try:
        sync_plan(corpus, ledger, counts, shard=shard)
        if retry_failed:
            ledger.reset_failed()
        if batch:
            from sdf_corpus.generate.batch import run_batch_generation

            return asyncio.run(run_batch_generation(corpus, ledger, options, price_for(corpus)))
        backend = make_run_backend(corpus)  # raises KeyMissingError before any request
        if workers > 1:
            from sdf_corpus.generate.parallel import run_workers

            asyncio.run(backend.aclose())  # the check is done; each worker makes its own
            ledger.close()  # no SQLite connection may cross the workers' fork
            return run_workers(corpus, ledger.path, options, workers)
        return asyncio.run(run_backend(corpus, ledger, backend, options))
    finally:
        ledger.close()


def _check_generate_options(corpus: Corpus, batch: bool, workers: int) -> None:
    _check_backend_fit(corpus)
    if batch and corpus.spec.backend.provider != "anthropic":
        raise SpecError(
            "backend.provider",
            f"--batch needs the anthropic backend, not {corpus.spec.backend.provider!r}",
            "drop --batch or switch provider",
        )
    if workers < 1:
        raise SpecError("--workers", f"{workers} is not a number of processes", "use 1 or more")
    if workers > corpus.spec.backend.concurrency:
        raise SpecError(
            "--workers",
            f"{workers} workers but backend.concurrency is {corpus.spec.backend.concurrency}: "
            "each worker needs at least one request in flight",
            "use fewer workers or raise backend.concurrency",
        )
    if batch and workers > 1:
        raise SpecError(
            "--workers",
            "--batch sends whole batches from one process; workers would not speed it up",
            "drop --workers or --batch",
        )


async def run_backend(
    corpus: Corpus, ledger: Ledger, backend: Any, options: RunOptions
) -> GenerateResult:
    try:
        return await run_generation(corpus, ledger, backend, options, price_for(corpus))
    finally:
        await backend.aclose()


def run_documents(corpus: Corpus, ledger: Ledger) -> Iterator[Document]:
    for job, outputs in ledger.done_jobs():
        yield to_document(corpus, job, outputs)


# The clean stage keeps a generated document whose length is within the genre's band
# widened by these factors (docs/clean.md): real documents stray past a band that was
# only a target in the prompt, so only what is far outside it is dropped.
LENGTH_BAND_SLACK = (0.5, 2.0)


def genre_lengths(corpus: Corpus) -> dict[str, tuple[int, int]]:
    """Length bounds the clean stage enforces; the local base model writes short openings."""
    out = {}
    for name, genre in corpus.genres.items():
        lo, hi = genre.length["min"], genre.length["max"]
        if corpus.spec.backend.provider == "local" and genre.local is not None:
            lo, hi = min(lo, max(30, genre.local.max_tokens // 6)), max(hi, genre.local.max_tokens)
        out[name] = (int(lo * LENGTH_BAND_SLACK[0]), int(hi * LENGTH_BAND_SLACK[1]))
    return out


def clean_run(corpus: Corpus, *, progress: bool = True) -> Any:
    from sdf_corpus.clean.pipeline import clean

    ledger = open_ledger(corpus)
    try:
        cfg = corpus.spec.clean
        if corpus.spec.excluded_names and cfg.excluded_names != corpus.spec.excluded_names:
            cfg = cfg.model_copy(update={"excluded_names": corpus.spec.excluded_names})
        cfg = cfg.model_copy(update={"subject_names": corpus.spec.subject.names()})
        if cfg.decontamination.files:  # the constitution is quoted on both sides on purpose
            decont = cfg.decontamination
            ignore = [*decont.ignore, corpus.spec.constitution]
            cfg = cfg.model_copy(
                update={"decontamination": decont.model_copy(update={"ignore": ignore})}
            )
        return clean(
            run_documents(corpus, ledger),
            corpus.run_dir,
            cfg,
            genre_lengths=genre_lengths(corpus),
            spec_hash=corpus.spec_hash(),
            progress=progress,
        )
    finally:
        ledger.close()


@dataclass
class BuildResult:
    rounds: int = 0
    generate: list[GenerateResult] = field(default_factory=list)
    kept_tokens: int = 0
    kept_documents: int = 0
    budget_tokens: int = 0
    # complete | max_cost | max_rounds | no_success | ambiguous_create | judge stops
    stopped: str = "complete"
    judge: Any = None
    postprocessed: bool = True  # False when the shards were already up to date
    standings: list[Standing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # sentences for the summary

    def as_dict(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "kept_tokens": self.kept_tokens,
            "kept_documents": self.kept_documents,
            "budget_tokens": self.budget_tokens,
            "stopped": self.stopped,
            "requests": sum(g.requests for g in self.generate),
            "judge_requests": self.judge.requests if self.judge else 0,
            "cleaned": self.postprocessed,
            "spent_usd": self.generate[-1].spent_usd if self.generate else 0.0,
        }

    @property
    def empty_genres(self) -> list[str]:
        """Genres with a target that ended with no document."""
        return [r.genre for r in self.standings if r.target > 0 and r.kept_docs == 0]

    @property
    def incomplete(self) -> bool:
        """Empty, short of the budget, or a genre left at zero documents, for a reason
        other than --max-cost."""
        if self.stopped == "max_cost":
            return False
        short = self.kept_documents == 0 or self.kept_tokens < self.budget_tokens
        return short or bool(self.empty_genres)


def build(
    corpus: Corpus,
    options: RunOptions,
    *,
    retry_failed: bool = False,
    batch: bool = False,
    workers: int = 1,
) -> BuildResult:
    """Generate, clean, and top up until the cleaned corpus meets the budget and the
    mix (or `budget.max_rounds` is reached, a round succeeds at nothing, or
    --max-cost stops it). A provider that keeps refusing raises ProviderStoppedError."""
    result = BuildResult(budget_tokens=corpus.spec.budget.tokens)
    while True:
        gen = generate(
            corpus,
            options,
            retry_failed=retry_failed and result.rounds == 0,
            batch=batch,
            workers=workers,
        )
        result.generate.append(gen)
        if not _postprocess(corpus, options, result):
            return result
        result.rounds += 1
        result.standings = _standings(corpus)
        if gen.stopped != "complete":
            result.stopped = gen.stopped
            return result
        if gen.jobs_failed and not gen.jobs_done:
            # Another round would only repeat the failures (and their cost).
            result.stopped = "no_success"
            return result
        if not _top_up(corpus, result):
            return result


def _postprocess(corpus: Corpus, options: RunOptions, result: BuildResult) -> bool:
    """Clean (and judge) the generated documents, unless nothing changed since the
    last time: a finished build re-run does no work. False if the judge stopped."""
    fingerprint = _fingerprint(corpus)
    ledger = open_ledger(corpus)
    try:
        unchanged = ledger.get_meta("postprocessed") == fingerprint
    finally:
        ledger.close()
    if unchanged and (corpus.run_dir / "manifest.json").is_file():
        result.kept_tokens, result.kept_documents = _kept_after_judge(corpus)
        result.postprocessed = False
        return True
    undone = _judge_undone(corpus)
    stats = clean_run(corpus, progress=options.progress)
    result.kept_tokens, result.kept_documents = _kept(stats)
    if undone:
        result.notes.append(undone)
    complete = True
    if corpus.spec.judge.enabled:
        judged = judge_and_apply(corpus, options)
        result.judge = judged
        result.kept_tokens, result.kept_documents = _kept_after_judge(corpus)
        complete = judged.stopped == "complete" and judged.failed == 0
        if judged.stopped != "complete":
            result.stopped = judged.stopped
            return False
    if complete:  # a judge request that failed is retried next time, so no fingerprint
        ledger = open_ledger(corpus)
        try:
            ledger.set_meta("postprocessed", fingerprint)
        finally:
            ledger.close()
    return True


def _judge_undone(corpus: Corpus) -> str:
    """What cleaning with the judge off undoes on a judged run, in words ("" if nothing)."""
    path = corpus.run_dir / "manifest.json"
    if corpus.spec.judge.enabled or not path.is_file():
        return ""
    judged = json.loads(path.read_text()).get("judge")
    if not judged:
        return ""
    back = sum(int(n) for n in judged.get("dropped", {}).values())
    return (
        "the judge is off (judge.enabled: false) on a run that was judged: the shards were "
        f"rewritten without the judge column and the {back} documents it had dropped are back "
        "in the corpus; set judge.enabled: true to restore its scores and drops (stored "
        "judgements are reused, nothing is paid twice)"
    )


def _fingerprint(corpus: Corpus) -> str:
    """What the shards are made from: the spec (clean and judge settings included) and
    every finished job's outputs of the current plan."""
    ledger = open_ledger(corpus)
    try:
        row = ledger.db.execute(
            "SELECT COUNT(DISTINCT j.id), COUNT(o.stage), COALESCE(MAX(o.created_at), 0) "
            "FROM jobs j JOIN outputs o ON o.job_id = j.id "
            "WHERE j.active = 1 AND j.status = 'done'"
        ).fetchone()
    finally:
        ledger.close()
    # Evaluation files are read by the clean stage: a regenerated probe set re-cleans.
    evals = [
        [str(p), p.stat().st_mtime_ns]
        for p in corpus.spec.clean.decontamination.files
        if p.exists()
    ]
    return json.dumps([corpus.spec_hash(), *row, evals])


def judge_and_apply(corpus: Corpus, options: RunOptions) -> Any:
    """Judge the freshly cleaned shards (resuming: judged documents are skipped) and
    write the scores into them, dropping what falls below judge.min_scores."""
    from sdf_corpus.judge.apply import apply_judgements
    from sdf_corpus.judge.rubric import load_rubric
    from sdf_corpus.judge.run import check_judged_share, judge_run
    from sdf_corpus.judge.store import JudgeStore

    rubric = load_rubric(corpus.spec.judge.rubric, corpus.path.resolve().parent)
    ledger = open_ledger(corpus)
    try:
        result = judge_run(
            corpus, ledger, rubric, max_cost=options.max_cost, progress=options.progress
        )
        store = JudgeStore(ledger, rubric.digest())
        # Counted before the judge's drops change the shards; raised once its scores are in.
        short = check_judged_share(corpus, result, store) if result.stopped == "complete" else None
        apply_judgements(corpus.run_dir, store, rubric, corpus.spec.judge.min_scores)
        if short is not None:
            raise short
        return result
    finally:
        ledger.close()


def _kept_after_judge(corpus: Corpus) -> tuple[int, int]:
    stats = json.loads((corpus.run_dir / "clean_stats.json").read_text())
    return int(stats["kept"]["tokens"]), int(stats["kept"]["docs"])


def _kept(stats: Any) -> tuple[int, int]:
    return int(stats.kept_tokens), int(stats.kept_docs)


def _standings(corpus: Corpus) -> list[Standing]:
    """Each genre's kept tokens and documents (after the judge) against its target."""
    manifest = json.loads((corpus.run_dir / "manifest.json").read_text())
    ledger = open_ledger(corpus)
    try:
        targets = json.loads(ledger.get_meta("targets") or "{}")
        done = ledger.done_by_genre()
    finally:
        ledger.close()
    return standings(targets, manifest.get("by_genre", {}), done)


def _top_up(corpus: Corpus, result: BuildResult) -> bool:
    """Plan one more round sized per genre from each genre's own shortfall.

    `budget.max_rounds` counts the rounds since the spec last changed (round 0
    included), not every round the run folder has seen."""
    counts = size_top_up(corpus, result.standings, corpus.spec.budget.tokens)
    if not counts:
        return False
    ledger = open_ledger(corpus)
    try:
        rounds = ledger.rounds()
        first = int(ledger.get_meta("rounds_from") or 1)
        if 1 + sum(1 for r, _ in rounds if r >= first) >= corpus.spec.budget.max_rounds:
            result.stopped = "max_rounds"
            return False
        ledger.add_round(max(r for r, _ in rounds) + 1, counts)
        return True
    finally:
        ledger.close()
