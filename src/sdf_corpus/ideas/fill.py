"""Filling cells' ideas: list requests that each serve many jobs, one idea per brief.

Per cell, requests go in rounds: each round's requests are built from one ledger state
(what the cell holds, shown as taken), sent together, and their answers checked in request
order and committed in one transaction. Immediately a round is one request (each sees
what the previous one kept); under `--batch` it is `ideas.batch_width` requests, since each
round costs a batch turnaround. Cells run side by side, as many requests in flight as the
backend allows. A cell's waiting jobs are taken in plan (index) order, so
what is asked and kept depends only on the ledger and the answers. Each answered request
is committed with its attempt, its ideas and the kept ideas as the jobs' idea outputs in
one transaction (`store/ideas.py`); a brief whose idea was dropped (a repeat, too close,
or missing from the answer) is asked again in a later request of its cell, up to
`ideas.max_asks` times; then its job is set aside (status `pool_exhausted`): its cell
has no distinct idea left to give it, and no job buys an idea list of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sdf_corpus.embed import Embedder, load_embedder
from sdf_corpus.errors import BudgetError, ProviderError, ProviderStoppedError
from sdf_corpus.generate.breaker import account_refusal
from sdf_corpus.ideas.cells import cell_of, group_of, idea_stage, pool_applies, pool_key
from sdf_corpus.ideas.check import CellIdeas, normalise
from sdf_corpus.ideas.prompt import parse_items, pool_request, request_id, summary
from sdf_corpus.plan.job import Job
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.spec.genres import Stage
from sdf_corpus.spec.load import Corpus
from sdf_corpus.store import Store
from sdf_corpus.store.ideas import POOL_STAGE, IdeaBook, IdeaRow, PoolCommit

__all__ = ["Caller", "CallerFor", "PoolResult", "fill_pool"]


class Caller(Protocol):
    """What sends a request under the run's limits (the generation `Executor`)."""

    async def call(self, key: str, stage: str, request: Request) -> tuple[Completion, float]: ...


# The caller of a genre's pool requests, given the genre and its idea stage's name: the
# executor of that stage's own provider and model (`backend.stages`).
CallerFor = Callable[[str, str], Caller]


@dataclass(frozen=True)
class PoolResult:
    requests: int = 0  # pool requests answered and committed by this call
    kept: int = 0
    dropped: int = 0
    # jobs past ideas.max_asks, set aside as `pool_exhausted`, by cell (its saturation)
    exhausted: dict[str, int] = field(default_factory=dict)
    failed: int = 0  # jobs failed with their pool request (a permanent error, retries spent)
    held_back: frozenset[str] = frozenset()  # jobs still owed a pool idea: not to run yet
    errors: dict[str, int] = field(default_factory=dict)  # failed pool requests by kind


@dataclass
class _Cell:
    key: str
    waiting: list[str]  # job ids in plan order


@dataclass
class _Group:
    """One genre's cells for one kind of AI (subject or cast): what a request may mix."""

    key: str
    stage: Stage
    cells: dict[str, _Cell] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)  # job id -> plan position
    refusals: int = 0  # account-level refusals in a row (the breaker decides when to stop)

    def waiting(self) -> list[str]:
        return [j for cell in self.cells.values() for j in cell.waiting]


async def fill_pool(
    corpus: Corpus,
    ledger: Store,
    jobs: Iterable[Job],
    caller: CallerFor | None,
    *,
    concurrency: int = 16,
    width: int | None = None,
) -> PoolResult:
    """Ensure a pool idea for each of `jobs` that needs one (the one door in).

    Callable per wave of jobs. `caller=None` sends nothing: it only says which jobs are
    still owed an idea (a `--workers` process, whose parent filled the pool). Raises
    BudgetError or ProviderStoppedError once the in-flight requests are committed.

    `width`: requests of one cell sent together per round; by default `ideas.batch_width`
    when the caller sends batches (`batched`: ideas/batched.py), else 1 (an immediate
    build keeps each request seeing the one before it)."""
    if not pool_applies(corpus):
        return PoolResult()
    groups, exhausted = _waiting(corpus, ledger, jobs)
    if caller is None or not groups:
        held = frozenset(j for group in groups for j in group.waiting())
        return PoolResult(exhausted=dict(exhausted), held_back=held)
    for group in groups:  # a template that cannot be rendered fails before anything is sent
        first = ledger.job(group.waiting()[0])
        pool_request(corpus, group.stage, [first], [])
    if width is None:
        width = corpus.spec.ideas.batch_width if getattr(caller, "batched", False) else 1
    filler = _Filler(corpus, ledger, caller, load_embedder(), concurrency, max(1, width))
    await asyncio.gather(*(filler.fill(group) for group in groups))
    if filler.stop is not None:
        raise filler.stop
    return dataclasses.replace(
        filler.result,
        exhausted=dict(exhausted + filler.exhausted),
        held_back=frozenset(j for group in groups for j in group.waiting()),
        errors=dict(filler.errors),
    )


def _waiting(
    corpus: Corpus, ledger: Store, jobs: Iterable[Job]
) -> tuple[list[_Group], Counter[str]]:
    """The groups with jobs still owed an idea (ids only: a plan's jobs need not sit in
    memory), and per cell how many jobs had used up their asks (now set aside)."""
    provider, book = corpus.spec.backend.provider, IdeaBook(ledger)
    groups: dict[str, _Group] = {}
    for job in jobs:
        stage = idea_stage(corpus.genres[job.genre], provider)
        if stage is not None:
            group = groups.setdefault(group_of(job), _Group(group_of(job), stage))
            group.cells.setdefault(cell_of(job), _Cell(cell_of(job), [])).waiting.append(job.id)
            group.index[job.id] = job.index
    exhausted: Counter[str] = Counter()
    limit = corpus.spec.ideas.max_asks
    for group in groups.values():
        for cell in group.cells.values():
            lacking = book.without_idea(cell.waiting)
            asks = book.asks(lacking)
            cell.waiting = [j for j in cell.waiting if j in lacking and asks[j] < limit]
            spent = [j for j in lacking if asks[j] >= limit]
            # A kill between a request's commit and the set-aside: done here on resume.
            exhausted[cell.key] += book.set_aside(spent, _saturated(cell.key, limit))
    return [g for g in groups.values() if g.waiting()], +exhausted


def _saturated(cell: str, asks: int) -> str:
    return f"idea pool: cell {cell} is saturated (no distinct idea in {asks} asks)"


_REFUSED = object()


@dataclass(frozen=True)
class _Ask:
    """One pool request, built at its round's start: `request.custom_id` is its id."""

    key: str  # its cell, or its group for a remainder request
    ids: list[str]
    batch: list[Job]
    cells: list[str]
    request: Request


class _Filler:
    """Requests for the groups, side by side; within a group, first every cell's full
    requests (cells side by side), then the cells' remainders together: each in rounds of
    `width` requests."""

    def __init__(
        self,
        corpus: Corpus,
        ledger: Store,
        caller: CallerFor,
        embedder: Embedder,
        concurrency: int,
        width: int,
    ) -> None:
        self.corpus, self.ledger, self.caller, self.embedder = corpus, ledger, caller, embedder
        self.spec = corpus.spec.ideas
        self.width = width  # requests of one cell (or group) per round
        self.book = IdeaBook(ledger)
        self.gate = asyncio.Semaphore(max(1, concurrency))
        self.stop: BudgetError | ProviderStoppedError | None = None
        self.errors: Counter[str] = Counter()
        self.exhausted: Counter[str] = Counter()
        self.result = PoolResult()
        self.cells: dict[str, CellIdeas] = {}
        # Exact repeats are refused across a whole group (a genre for one kind of AI), not
        # only within a cell: the same text under two principles is still one story.
        self.texts: dict[str, dict[str, str]] = {}

    async def fill(self, group: _Group) -> None:
        size = self.spec.per_request
        await asyncio.gather(*(self._full(group, cell) for cell in group.cells.values()))
        while group.waiting() and self.stop is None:
            # The remainders in plan order: each cell's own order is kept.
            by_index = sorted(group.waiting(), key=group.index.__getitem__)
            span = by_index[: self.width * size]
            chunks = [span[i : i + size] for i in range(0, len(span), size)]
            if not await self._round(group, group.key, chunks):
                return

    async def _full(self, group: _Group, cell: _Cell) -> None:
        size = self.spec.per_request
        while len(cell.waiting) >= size and self.stop is None:
            count = min(self.width, len(cell.waiting) // size)
            chunks = [cell.waiting[i * size : (i + 1) * size] for i in range(count)]
            if not await self._round(group, cell.key, chunks):
                return

    def _ideas(self, cell: str) -> CellIdeas:
        if cell not in self.cells:
            self.cells[cell] = CellIdeas(self.book.held(cell), self.embedder, self.spec.threshold)
        return self.cells[cell]

    def _prepare(self, group: _Group, key: str, ids: list[str]) -> _Ask:
        """A request for these briefs, showing what their cells hold now."""
        batch = [self.ledger.job(j) for j in ids]
        cells = [cell_of(job) for job in batch]
        taken = self._taken(cells, self.book.nears(ids), self.book.refused(ids))
        request = pool_request(self.corpus, group.stage, batch, taken)
        rid = request_id(key, request, self.book.asks(ids))
        return _Ask(key, ids, batch, cells, dataclasses.replace(request, custom_id=rid))

    async def _round(self, group: _Group, key: str, chunks: Sequence[list[str]]) -> bool:
        """One request per chunk of briefs, all built from the same ledger state and sent
        together; the answers judged in request order and committed in one transaction,
        so a kill leaves the round's start (same request ids: its batch is adopted) or its
        end. False when the group must stop."""
        asks = [self._prepare(group, key, ids) for ids in chunks]
        answers = await asyncio.gather(*(self._ask(group, ask) for ask in asks))
        go, commits, failed = True, [], []
        for ask, answer in zip(asks, answers, strict=True):
            if isinstance(answer, ProviderError):
                failed.append((ask, answer))
            elif answer is _REFUSED:
                # Asked again, so the executor's breaker sees the refusals it would have
                # seen from the jobs' own requests and stops the run naming the setting
                # (exit 5); bounded in case it never does.
                group.refusals += 1
                go = go and group.refusals <= self.corpus.spec.backend.breaker_threshold
            elif isinstance(answer, tuple):
                group.refusals = 0
                commits.append(self._answered(group, ask, *answer))
            else:
                go = False
        self.book.commit(*commits)
        for commit in commits:
            self._tally(group, commit.ideas)
        for ask, error in failed:
            self._fail(group, ask.batch, error)
        return go

    async def _ask(
        self, group: _Group, ask: _Ask
    ) -> tuple[Completion, float] | ProviderError | object | None:
        caller = self.caller(ask.batch[0].genre, group.stage.name)
        return await self._send(caller, ask.ids[0], ask.request)

    def _answered(
        self, group: _Group, ask: _Ask, completion: Completion, started: float
    ) -> PoolCommit:
        rid = ask.request.custom_id
        rows = self._judge(
            group, rid, ask.ids, ask.cells, parse_items(completion.text, len(ask.ids))
        )
        genre, stage = ask.batch[0].genre, group.stage.name
        return PoolCommit(rid, ask.key, genre, stage, ask.ids[0], completion, started, rows)

    def _judge(
        self,
        group: _Group,
        rid: str,
        ids: Sequence[str],
        cells: Sequence[str],
        texts: Sequence[str | None],
    ) -> list[IdeaRow]:
        """Each brief's idea checked against its group's texts and its own cell's ideas."""
        seen = self._group_texts(group)
        vectors = iter(self.embedder.embed([t for t in texts if t]))
        rows = []
        for item, (job_id, cell, text) in enumerate(zip(ids, cells, texts, strict=True), start=1):
            vector = next(vectors) if text else None
            ref = f"{rid}:{item}"
            if text and normalise(text) in seen:
                row = IdeaRow(item, job_id, text, "duplicate", seen[normalise(text)], 1.0)
            else:
                row = self._ideas(cell).check(ref, item, job_id, text, vector)
            if row.verdict == "kept":
                seen[normalise(text or "")] = ref
                row = dataclasses.replace(row, key=pool_key(rid, item, text or ""))
            rows.append(dataclasses.replace(row, cell=cell))
        return rows

    def _group_texts(self, group: _Group) -> dict[str, str]:
        if group.key not in self.texts:
            genre, _, about = group.key.split("/")
            held = self.book.held_like(f"{genre}/%/{about}")
            self.texts[group.key] = {normalise(text): ref for ref, text in held}
        return self.texts[group.key]

    def _taken(
        self, cells: Sequence[str], near: Sequence[str], refused: Sequence[str]
    ) -> list[str]:
        """Summaries to show as taken: first the ideas these briefs were refused for (so a
        re-ask is not the very prompt that gave them), then what the request's cells hold,
        shared out among them; each text once, at most `ideas.show_taken`."""
        distinct = list(dict.fromkeys(cells))
        limit = self.spec.show_taken
        share = -(-limit // len(distinct)) if limit else 0
        held: list[str] = []
        for cell in distinct:
            held += [summary(t) for t in self._ideas(cell).steering(near, share)]
        # A refused repeat is shown in the words its cell holds it in.
        spelt = {normalise(line): line for line in held}
        shown: dict[str, str] = {}
        for line in [*(summary(t) for t in refused), *held]:
            shown.setdefault(normalise(line), spelt.get(normalise(line), line))
        return list(shown.values())[:limit]

    async def _send(
        self, caller: Caller, payer: str, request: Request
    ) -> tuple[Completion, float] | ProviderError | object | None:
        """The answer; the error that fails the request's jobs; _REFUSED (an account-level
        refusal, which says nothing about the jobs); or None: nothing more is sent."""
        async with self.gate:
            if self.stop is not None:
                return None
            try:
                return await caller.call(payer, POOL_STAGE, request)
            except (BudgetError, ProviderStoppedError) as exc:
                self.stop = self.stop or exc
            except ProviderError as exc:
                self.errors[type(exc).__name__] += 1
                return exc if account_refusal(exc) is None else _REFUSED
        return None

    def _fail(self, group: _Group, batch: Sequence[Job], error: ProviderError) -> None:
        """The request's jobs fail as a job fails at a stage (`--retry-failed` retries them)."""
        ids = {job.id for job in batch}
        with self.ledger.transaction(immediate=True):
            for job in batch:
                self.ledger.fail_job(job, group.stage.name, error)
        for cell in group.cells.values():
            cell.waiting = [j for j in cell.waiting if j not in ids]
        self.result = dataclasses.replace(self.result, failed=self.result.failed + len(ids))

    def _tally(self, group: _Group, rows: Sequence[IdeaRow]) -> None:
        kept = {r.job_id for r in rows if r.verdict == "kept"}
        asked = [r.job_id for r in rows]
        asks = self.book.asks(asked)
        gave_up = {j for j in asked if j not in kept and asks[j] >= self.spec.max_asks}
        for cell in group.cells.values():
            spent = [j for j in cell.waiting if j in gave_up]
            if spent:
                why = _saturated(cell.key, self.spec.max_asks)
                self.exhausted[cell.key] += self.book.set_aside(spent, why)
            cell.waiting = [j for j in cell.waiting if j not in kept and j not in gave_up]
        r = self.result
        self.result = dataclasses.replace(
            r,
            requests=r.requests + 1,
            kept=r.kept + len(kept),
            dropped=r.dropped + len(asked) - len(kept),
        )
