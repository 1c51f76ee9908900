"""The idea pool's tables: a version-1 ledger gains them in place, and a pool request goes
in with its attempt, its ideas and the kept ideas as the jobs' outputs, or not at all."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from runfiles import stub_job
from sdf_corpus.sampling import Completion
from sdf_corpus.store import LATEST, IdeaBook, Store
from sdf_corpus.store.ideas import IdeaRow, PoolCommit
from sdf_corpus.store.merge import fold
from sdf_corpus.store.schema import MIGRATIONS


def _v1(path: Path, version: int = 1) -> None:
    db = sqlite3.connect(path)
    for statements in MIGRATIONS[:version]:
        for statement in statements:
            db.execute(statement)
    db.execute(f"PRAGMA user_version={version}")
    db.commit()
    db.close()


def _commit(book: IdeaBook, rid: str = "pool-1") -> None:
    rows = [
        IdeaRow(1, "job1", "A lighthouse keeper's logbook.", "kept"),
        IdeaRow(2, "job2", "A lighthouse keeper's logbook!", "duplicate", f"{rid}:1", 1.0),
        IdeaRow(3, "job3", "", "missing"),
    ]
    completion = Completion("1. ...", "end", 900, 120, cost_usd=0.004, model="m")
    book.commit(
        PoolCommit(rid, "g/*/subject", "blog_post", "idea", "job1", completion, time.time(), rows)
    )


def test_a_version_1_ledger_gains_the_pool_tables_in_place(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    _v1(path)
    store = Store(path)
    try:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == LATEST == 3
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
        assert {"pool_requests", "pool_ideas"} <= tables
    finally:
        store.close()


def test_a_pool_request_is_committed_whole(tmp_path: Path) -> None:
    store = Store(tmp_path / "ledger.sqlite")
    store.sync_jobs([stub_job(n) for n in (1, 2, 3)])
    book = IdeaBook(store)
    _commit(book)
    outputs = store.db.execute("SELECT job_id, stage, cost_usd, backend FROM outputs").fetchall()
    assert outputs == [("job1", "idea", 0.0, "idea_pool")]
    attempts = store.db.execute("SELECT job_id, stage, cost_usd FROM attempts").fetchall()
    assert attempts == [("job1", "idea_pool", 0.004)]
    assert book.asks(["job1", "job2", "job3", "job4"]) == {
        "job1": 1,
        "job2": 1,
        "job3": 1,
        "job4": 0,
    }
    assert book.held("g/*/subject") == [("pool-1:1", "A lighthouse keeper's logbook.")]
    # held matches the cell exactly; held_like takes the pattern's wildcards
    assert book.held_like("g/%/subject") == book.held("g/*/subject")
    assert book.held("g/%/subject") == [] and book.held_like("x/%") == []
    assert book.nears(["job2"]) == ["pool-1:1"] and book.committed("pool-1")
    assert book.without_idea(["job1", "job2"]) == {"job2"}
    figures = book.figures()
    assert (figures.requests, figures.asked, figures.kept, figures.duplicate) == (1, 3, 1, 1)
    # the same request again: nothing of it goes in, not even its attempt
    with pytest.raises(sqlite3.IntegrityError):
        _commit(book)
    assert store.db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1
    store.close()


def test_job_id_lists_longer_than_one_statement_binds_are_read_and_set_aside_whole(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "ledger.sqlite")
    store.sync_jobs([stub_job(n) for n in range(1, 1201)])
    book = IdeaBook(store)
    _commit(book)
    ids = [f"job{n}" for n in range(1, 1201)]
    asks = book.asks(ids)
    assert len(asks) == 1200 and sum(asks.values()) == 3
    assert book.without_idea(ids) == set(ids) - {"job1"}
    assert book.ideas_of(ids) == {"job1": "A lighthouse keeper's logbook."}
    assert book.set_aside(ids[1:], "no distinct idea") == 1199
    pending = store.db.execute("SELECT COUNT(*) FROM jobs WHERE status='pending'").fetchone()[0]
    assert pending == 1
    store.close()


def test_merge_copies_a_slice_pool_once_and_accepts_a_slice_without_one(tmp_path: Path) -> None:
    main, piece, old = (Store(tmp_path / f"{n}.sqlite") for n in ("main", "piece", "old"))
    for store in (main, piece):
        store.sync_jobs([stub_job(n) for n in (1, 2, 3)])
    _commit(IdeaBook(piece))
    piece.close()
    old.close()
    for _ in range(2):
        fold(main, tmp_path / "piece.sqlite")
    assert IdeaBook(main).figures().asked == 3
    _v1(tmp_path / "v2.sqlite", version=2)
    fold(main, tmp_path / "v2.sqlite")  # a ledger from before the pool has none to copy
    assert IdeaBook(main).figures().requests == 1
    main.close()


def test_the_report_reads_the_pool_per_genre_and_principle(tmp_path: Path) -> None:
    store = Store(tmp_path / "ledger.sqlite")
    assert store.idea_pool_by_cell() == []
    store.sync_jobs([stub_job(n) for n in (1, 2, 3)])
    book = IdeaBook(store)
    completion = Completion("1. ...", "end", 900, 120, cost_usd=0.004, model="m")
    for rid, cell, rows in (
        ("pool-a", "blog_post/care/subject", [IdeaRow(1, "job1", "An idea.", "kept")]),
        ("pool-b", "blog_post/care/cast", [IdeaRow(1, "job2", "An idea!", "too_close")]),
        ("pool-c", "blog_post/x/subject", [IdeaRow(1, "job3", "", "missing")]),
    ):
        book.commit(PoolCommit(rid, cell, "blog_post", "idea", rows[0].job_id, completion, 0, rows))
    care = {"asked": 2, "kept": 1, "dropped_too_close": 1}
    assert store.idea_pool_by_cell() == [
        {"genre": "blog_post", "principle_id": "care", **care},
        {"genre": "blog_post", "principle_id": "x", "asked": 1, "kept": 0, "dropped_too_close": 0},
    ]
    store.close()


def test_a_batched_pool_request_is_answered_in_its_commit(tmp_path: Path) -> None:
    """Under `--batch`: in flight until the commit that holds its ideas marks it answered;
    its batch is the pool's, which the jobs' batch runner leaves alone."""
    from sdf_corpus.store import BatchBook, RequestRow

    store = Store(tmp_path / "ledger.sqlite")
    store.sync_jobs([stub_job(n) for n in (1, 2, 3)])
    book, batches = IdeaBook(store), BatchBook(store)
    pool = batches.open_intent(
        [RequestRow("pool-1", "job1", "idea_pool", 1, "", key="pool-1")], 1, 0
    )
    jobs = batches.open_intent([RequestRow("job2-draft-1", "job2", "draft", 1, "", key="k")], 1, 0)
    batches.attach(pool.seq, "b-pool")
    batches.attach(jobs.seq, "b-jobs")
    assert [b.id for b in batches.batches("in_progress", pool=True)] == ["b-pool"]
    assert [b.id for b in batches.batches("in_progress", pool=False)] == ["b-jobs"]
    assert len(batches.batches("in_progress")) == 2
    assert book.in_flight() == {"pool-1": ("pool-1", pool.seq)} and book.batch_tries("pool-1") == 1
    _commit(book)
    assert book.in_flight() == {} and batches.unanswered(pool.seq) == []
    store.close()


def test_refused_ideas_are_read_back_newest_first(tmp_path: Path) -> None:
    store = Store(tmp_path / "ledger.sqlite")
    store.sync_jobs([stub_job(n) for n in (1, 2, 3)])
    book = IdeaBook(store)
    _commit(book, "pool-1")
    assert book.refused(["job2"]) == ["A lighthouse keeper's logbook!"]
    assert book.refused(["job1", "job3"]) == []  # kept and missing are not refusals
    store.close()


def _pool(rid: str, job: str, text: str) -> PoolCommit:
    completion = Completion("1. ...", "end", 900, 120, cost_usd=0.004, model="m")
    rows = [IdeaRow(1, job, text, "kept")]
    return PoolCommit(rid, "g/*/subject", "blog_post", "idea", job, completion, time.time(), rows)


def test_a_round_of_pool_requests_is_committed_together_in_its_order(tmp_path: Path) -> None:
    """A --batch round commits its requests in one transaction: a kill (here: a request
    already in the ledger) leaves none of them; and each reads back in the order judged,
    whatever its request id sorts as (a resumed fill rebuilds the cell in that order)."""
    store = Store(tmp_path / "ledger.sqlite")
    store.sync_jobs([stub_job(n) for n in (1, 2, 3)])
    book = IdeaBook(store)
    book.commit(_pool("pool-a", "job1", "A ferry timetable."))
    with pytest.raises(sqlite3.IntegrityError):
        book.commit(_pool("pool-z", "job2", "A beekeeper's ledger."), _pool("pool-a", "job3", "x"))
    assert not book.committed("pool-z")
    assert store.db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1
    book.commit(
        _pool("pool-z", "job2", "A beekeeper's ledger."), _pool("pool-b", "job3", "A relay race.")
    )
    assert [ref for ref, _ in book.held("g/*/subject")] == ["pool-a:1", "pool-z:1", "pool-b:1"]
    book.commit()  # an empty round (every request failed or was refused) writes nothing
    assert store.db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 3
