"""Filling cells through a scripted caller on a real ledger: assignment, re-asks, fallback,
determinism given the ledger, resume, and how errors end a request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fakeprovider.text import list_length, pool_list
from sdf_corpus.errors import BudgetError, PermanentError
from sdf_corpus.ideas.cells import cell_of
from sdf_corpus.ideas.fill import PoolResult, fill_pool
from sdf_corpus.plan.job import Job
from sdf_corpus.plan.planner import iter_jobs
from sdf_corpus.sampling import Completion, Request
from sdf_corpus.spec.load import Corpus, load_corpus
from sdf_corpus.store import IdeaBook, Store

Responder = Callable[[Request, int], str]


class Scripted:
    """Answers pool requests with `respond(request, n)`; raises what `fail` returns for
    the n-th call (from 1)."""

    def __init__(
        self, respond: Responder, fail: Callable[[int], BaseException | None] | None = None
    ) -> None:
        self.respond, self.fail = respond, fail
        self.sent: list[Request] = []  # answered
        self.calls = 0

    async def call(self, key: str, stage: str, request: Request) -> tuple[Completion, float]:
        self.calls += 1
        error = self.fail(self.calls) if self.fail else None
        if error is not None:
            raise error
        self.sent.append(request)
        text = self.respond(request, list_length(request.prompt))
        return Completion(text, "end", 100, 50, cost_usd=0.01, model="scripted"), time.time()


def _varied(request: Request, n: int) -> str:
    return pool_list(request.prompt, n)


@pytest.fixture
def corpus(write_spec: Callable[..., Path]) -> Corpus:
    return load_corpus(write_spec(genres=["blog_post"], ideas={"per_request": 4, "max_asks": 2}))


def _ledger(corpus: Corpus, tmp: Path, n: int) -> tuple[Store, list[Job]]:
    jobs = list(iter_jobs(corpus, {"blog_post": n}))
    store = Store(tmp / "ledger.sqlite")
    store.sync_jobs(jobs)
    return store, jobs


def _fill(corpus: Corpus, store: Store, jobs: list[Job], caller: Scripted) -> PoolResult:
    return asyncio.run(fill_pool(corpus, store, jobs, lambda _g, _s: caller, concurrency=2))


def _ideas(store: Store) -> dict[str, str]:
    rows = store.db.execute("SELECT job_id, text, backend FROM outputs WHERE stage='idea'")
    return {job: text for job, text, backend in rows if backend == "idea_pool"}


def test_every_job_gets_its_own_idea_from_shared_requests(corpus: Corpus, tmp_path: Path) -> None:
    store, jobs = _ledger(corpus, tmp_path, 10)
    caller = Scripted(_varied)
    result = _fill(corpus, store, jobs, caller)
    ideas = _ideas(store)
    assert set(ideas) == {j.id for j in jobs} and len(set(ideas.values())) == 10
    assert result.requests == len(caller.sent) == 3  # 4 + 4 + 2 briefs
    assert result.kept == 10 and result.held_back == frozenset()
    # the spend is on the ledger once, under the pool's stage
    rows = store.db.execute("SELECT COUNT(*), SUM(cost_usd) FROM attempts").fetchone()
    assert rows[0] == 3 and rows[1] == pytest.approx(0.03)
    assert store.db.execute("SELECT SUM(cost_usd) FROM outputs").fetchone()[0] == 0


def test_a_repeat_is_asked_again_with_the_held_idea_shown(corpus: Corpus, tmp_path: Path) -> None:
    store, planned = _ledger(corpus, tmp_path, len(corpus.constitution.principles) + 1)
    jobs = [j for j in planned if cell_of(j) == cell_of(planned[0])]  # one cell: 2 jobs
    assert len(jobs) == 2

    def echo_first(request: Request, n: int) -> str:
        if "already holds" in request.prompt:
            return pool_list(request.prompt, n)
        same = "A clockmaker in Bruges mends a tower clock."
        return f"1. {same}\n2. {same.upper()}"

    caller = Scripted(echo_first)
    result = _fill(corpus, store, jobs, caller)
    assert result.requests == 2 and result.kept == 2 and result.dropped == 1
    second = caller.sent[1].prompt
    assert "Brief 2:" not in second and "- A clockmaker in Bruges mends a tower clock." in second
    verdicts = store.db.execute(
        "SELECT job_id, verdict, near FROM pool_ideas ORDER BY created_at, item"
    ).fetchall()
    assert [v for _, v, _ in verdicts] == ["kept", "duplicate", "kept"]
    assert verdicts[1][0] == verdicts[2][0] == jobs[1].id  # the re-asked brief is job 2's
    assert IdeaBook(store).asks([jobs[1].id]) == {jobs[1].id: 2}


def test_a_brief_past_max_asks_sets_its_job_aside_as_its_cell_saturated(
    corpus: Corpus, tmp_path: Path
) -> None:
    store, jobs = _ledger(corpus, tmp_path, 3)
    caller = Scripted(lambda request, n: "Sorry, I cannot help with that.")
    result = _fill(corpus, store, jobs, caller)
    assert len(caller.sent) == 2 and sum(result.exhausted.values()) == 3 and result.kept == 0
    assert _ideas(store) == {} and result.held_back == frozenset()
    statuses = store.db.execute("SELECT status, error FROM jobs").fetchall()
    assert {s for s, _ in statuses} == {"pool_exhausted"}
    assert all("saturated" in (e or "") for _, e in statuses)
    # nothing pending: a re-run neither asks the pool again nor runs an idea stage of its own
    assert list(store.pending_jobs()) == []
    again = Scripted(_varied)
    assert _fill(corpus, store, jobs, again).exhausted == {} and again.sent == []


def test_the_same_ledger_and_answers_give_the_same_ideas(corpus: Corpus, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        store, jobs = _ledger(corpus, folder, 9)
        _fill(corpus, store, jobs, Scripted(_varied))
        runs.append(
            store.db.execute(
                "SELECT request_id, item, job_id, text, verdict FROM pool_ideas "
                "ORDER BY request_id, item"
            ).fetchall()
        )
    assert runs[0] == runs[1] and len(runs[0]) == 9


def test_an_interrupted_fill_resumes_without_asking_a_committed_request_again(
    corpus: Corpus, tmp_path: Path
) -> None:
    store, jobs = _ledger(corpus, tmp_path, 10)
    first = Scripted(_varied, fail=lambda n: BudgetError("cap") if n == 2 else None)
    with pytest.raises(BudgetError):
        _fill(corpus, store, jobs, first)
    committed = {r[0] for r in store.db.execute("SELECT id FROM pool_requests")}
    assert len(committed) == len(first.sent) == 1 and len(_ideas(store)) == 4
    second = Scripted(_varied)
    _fill(corpus, store, jobs, second)
    assert {r.custom_id for r in second.sent}.isdisjoint(committed)
    assert len(second.sent) == 2 and len(_ideas(store)) == 10
    third = Scripted(_varied)
    _fill(corpus, store, jobs, third)
    assert third.sent == []  # nothing left to ask


def test_a_full_cell_gets_its_own_requests_and_remainders_share_one(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    corpus = load_corpus(write_spec(genres=["blog_post"], ideas={"per_request": 4}))
    principles = len(corpus.constitution.principles)
    store, jobs = _ledger(corpus, tmp_path, principles + 4)  # one cell holds 2 jobs, ...
    cells = {cell_of(j) for j in jobs}
    caller = Scripted(_varied)
    _fill(corpus, store, jobs, caller)
    assert len(_ideas(store)) == len(jobs)
    assert len(caller.sent) == -(-len(jobs) // 4) and len(cells) == principles
    # no cell fills a request: the remainders share them, each brief naming its principle
    assert all("Principle: number" in r.prompt for r in caller.sent[:-1])

    big = [j for j in iter_jobs(corpus, {"blog_post": principles * 4 + 1})]
    store2 = Store(tmp_path / "two.sqlite")
    store2.sync_jobs(big)
    caller2 = Scripted(_varied)
    _fill(corpus, store2, big, caller2)
    full = [r for r in caller2.sent if "numbered list from 1 to 4" in r.prompt]
    # every cell's first 4 jobs in one request of its own; the one job left over after
    assert len(full) == principles and all("Principle: number" not in r.prompt for r in full)
    assert len(caller2.sent) == principles + 1
    assert len(_ideas(store2)) == len(big)


def test_a_refused_request_fails_its_jobs_and_the_rest_go_on(
    corpus: Corpus, tmp_path: Path
) -> None:
    store, jobs = _ledger(corpus, tmp_path, 8)
    error = PermanentError("prompt too long", status=400)
    caller = Scripted(_varied, fail=lambda n: error if n == 1 else None)
    result = _fill(corpus, store, jobs, caller)
    assert result.failed == 4 and result.kept == 4 and result.errors == {"PermanentError": 1}
    failed = store.db.execute("SELECT COUNT(*) FROM jobs WHERE status='failed'").fetchone()[0]
    assert failed == 4


def test_workers_only_learn_what_is_still_owed(corpus: Corpus, tmp_path: Path) -> None:
    store, jobs = _ledger(corpus, tmp_path, 6)
    result = asyncio.run(fill_pool(corpus, store, jobs, None))
    assert result.held_back == {j.id for j in jobs} and result.requests == 0


def test_the_same_text_under_two_principles_is_still_a_repeat(
    corpus: Corpus, tmp_path: Path
) -> None:
    store, jobs = _ledger(corpus, tmp_path, 2)
    assert cell_of(jobs[0]) != cell_of(jobs[1])

    def same_twice(request: Request, n: int) -> str:
        if len(caller.sent) > 1:
            return pool_list(request.prompt, n)
        return "1. A ferry pilot logs a near miss.\n2. A ferry pilot logs a near miss."

    caller = Scripted(same_twice)
    result = _fill(corpus, store, jobs, caller)
    assert result.kept == 2 and result.dropped == 1 and len(set(_ideas(store).values())) == 2


def test_a_mixed_request_files_each_idea_under_its_own_cell(corpus: Corpus, tmp_path: Path) -> None:
    store, jobs = _ledger(corpus, tmp_path, 3)
    _fill(corpus, store, jobs, Scripted(_varied))
    book = IdeaBook(store)
    for job in jobs:  # what a later run loads to check against and to show as taken
        assert [text for _, text in book.held(cell_of(job))] == [_ideas(store)[job.id]]
    assert store.db.execute("SELECT cell FROM pool_requests").fetchone()[0] == "blog_post/*/subject"


def test_a_pool_idea_is_keyed_by_its_own_identity(corpus: Corpus, tmp_path: Path) -> None:
    """The idea output's stage key is the pool idea's (request, item, text), which the
    generation walk finds again: later stages extend it, the pool is not asked again."""
    from sdf_corpus.generate.loop import StageWalk
    from sdf_corpus.ideas.cells import kept_pool_key, pool_key

    store, jobs = _ledger(corpus, tmp_path, 5)
    _fill(corpus, store, jobs, Scripted(_varied))
    for job in jobs:
        rid, item, text = store.db.execute(
            "SELECT request_id, item, text FROM pool_ideas WHERE job_id=? AND verdict='kept'",
            (job.id,),
        ).fetchone()
        key = store.db.execute(
            "SELECT key FROM outputs WHERE job_id=? AND stage='idea'", (job.id,)
        ).fetchone()[0]
        assert key == pool_key(rid, item, text) == kept_pool_key(store, job.id)
        walk = StageWalk(corpus, job, store.outputs(job.id), store)
        stage = walk.next_stage()
        assert stage is not None and stage.name != "idea"  # the pool's idea was read back
    # the same text under another request is another idea (another key)
    assert pool_key("r1", 1, "x") != pool_key("r2", 1, "x") != pool_key("r1", 2, "x")


_CLOCK = "A clockmaker in Bruges {verb} the cracked tower clock the night before the winter fair."
_VERBS = ("mends", "repairs", "fixes", "restores", "patches")


def _too_close(request: Request, n: int) -> str:
    """The first request keeps one clock idea; every later answer is another wording of
    it (too close, never an exact repeat): a brief asked alone, again and again."""
    if n == 2:
        return "\n".join(f"{i}. {_CLOCK.format(verb=_VERBS[i - 1])}" for i in (1, 2))
    asked = request.prompt.count("clock the night before")
    return f"1. {_CLOCK.format(verb=_VERBS[min(asked + 1, len(_VERBS) - 1)])}"


def _one_cell(corpus: Corpus, tmp: Path) -> tuple[Store, list[Job]]:
    store, planned = _ledger(corpus, tmp, len(corpus.constitution.principles) + 1)
    jobs = [j for j in planned if cell_of(j) == cell_of(planned[0])]
    assert len(jobs) == 2
    return store, jobs


def test_a_re_ask_shows_the_refused_idea_so_its_prompt_differs(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    corpus = load_corpus(write_spec(genres=["blog_post"], ideas={"per_request": 4, "max_asks": 3}))
    store, jobs = _one_cell(corpus, tmp_path)
    caller = Scripted(_too_close)
    result = _fill(corpus, store, jobs, caller)
    verdicts = [v for (v,) in store.db.execute("SELECT verdict FROM pool_ideas ORDER BY rowid")]
    assert verdicts == ["kept", "too_close", "too_close", "too_close"]
    assert result.exhausted and len(caller.sent) == 3
    refused = [
        t for (t,) in store.db.execute("SELECT text FROM pool_ideas WHERE verdict='too_close'")
    ]
    second, third = caller.sent[1].prompt, caller.sent[2].prompt
    # each re-ask (the brief alone) names the ideas it was refused for, so none repeats
    assert f"- {refused[0]}" in second and f"- {refused[1]}" in third
    assert f"- {refused[1]}" not in second and second != third
    assert len({r.custom_id for r in caller.sent}) == 3


def test_a_resumed_fill_sends_the_same_re_ask_and_never_a_committed_one(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    corpus = load_corpus(write_spec(genres=["blog_post"], ideas={"per_request": 4, "max_asks": 3}))
    whole_store, jobs = _one_cell(corpus, tmp_path / "whole")
    whole = Scripted(_too_close)
    _fill(corpus, whole_store, jobs, whole)

    store, jobs = _one_cell(corpus, tmp_path / "cut")
    cut = Scripted(_too_close, fail=lambda n: BudgetError("cap") if n == 3 else None)
    with pytest.raises(BudgetError):
        _fill(corpus, store, jobs, cut)
    committed = {r for (r,) in store.db.execute("SELECT id FROM pool_requests")}
    resumed = Scripted(_too_close)
    _fill(corpus, store, jobs, resumed)
    assert {r.custom_id for r in resumed.sent}.isdisjoint(committed)
    # given the ledger, the resumed re-ask is the one the uninterrupted run sent
    assert [(r.custom_id, r.prompt) for r in resumed.sent] == [
        (r.custom_id, r.prompt) for r in whole.sent[2:]
    ]
