"""Reading a build made against the fake provider's "retold plots" mode: which plot each
kept or dropped document tells (from the fake's log, never from a mark in the text), and
the idea pool's invariants checked on the ledger and at the fake."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakeprovider.backend import anthropic_backend
from fakeprovider.retold import RetoldLog
from runfiles import kept_rows, ledger_rows

__all__ = [
    "assert_cells_distinct",
    "assert_paid_once",
    "assert_pool_sound",
    "demo_spec",
    "kept_plots",
    "rejected",
    "small_constitution",
]

REPO = Path(__file__).resolve().parents[2]


def demo_spec(folder: Path, url: str, tokens: int, **backend: Any) -> Path:
    """corpora/demo.yaml as a user would build it, on the fake provider instead of the
    local model, at `tokens` budget tokens."""
    spec = yaml.safe_load((REPO / "corpora" / "demo.yaml").read_text(encoding="utf-8"))
    spec.pop("probes", None)
    spec.update(
        constitution=str(REPO / "constitution" / "example.md"),
        personas=str(REPO / "personas"),
        output=str(folder / "run"),
        backend=anthropic_backend(url, **backend),
    )
    spec["budget"]["tokens"] = tokens
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def small_constitution(folder: Path, principles: int = 2) -> Path:
    """The example constitution cut to its first `principles` principles, so a small plan
    puts many jobs in each cell (and a cell's pool has repeats to refuse)."""
    text = (REPO / "constitution" / "example.md").read_text(encoding="utf-8")
    heads = [m.start() for m in re.finditer(r"(?m)^### ", text)]
    path = folder / "constitution.md"
    path.write_text(text[: heads[principles]], encoding="utf-8")
    return path


def rejected(run: Path) -> list[dict[str, Any]]:
    path = run / "rejected" / "rejected.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def kept_plots(run: Path, log: RetoldLog) -> dict[str, tuple[str, str | None]]:
    """Kept document id -> (genre, plot id): every document the clean stage kept, in the
    shards or in the budget's reserve."""
    return {row["id"]: (row["genre"], log.plot_of(row["text"])) for row in kept_rows(run)}


def _ledger_ids(run: Path, sql: str) -> list[tuple[Any, ...]]:
    return ledger_rows(run, sql)


def assert_pool_sound(run: Path, log: RetoldLog, *, lost: int = 0) -> None:
    """No idea paid twice, no two jobs of a cell with the same idea."""
    assert_paid_once(run, log, lost=lost)
    assert_cells_distinct(run, log)


def assert_paid_once(run: Path, log: RetoldLog, *, lost: int = 0) -> None:
    """No idea paid twice:

    - every idea-list request the fake answered is a committed pool request or a job's own
      idea stage, but for at most `lost` that a kill cut off before their answer was
      committed: nothing committed is asked for again (a brief re-asked after its idea
      came back too close is a new request, and is committed as one);
    - a job holds at most one kept pool idea, and a job given one never bought its own list.
    """
    pool = _ledger_ids(run, "SELECT COUNT(*) FROM pool_requests")[0][0]
    own = _ledger_ids(run, "SELECT COUNT(*) FROM attempts WHERE stage='idea' AND outcome='ok'")
    answered = len(log.idea_lists())
    assert pool + own[0][0] <= answered <= pool + own[0][0] + lost
    kept = _ledger_ids(
        run, "SELECT job_id, COUNT(*) FROM pool_ideas WHERE verdict='kept' GROUP BY job_id"
    )
    assert all(n == 1 for _, n in kept), "a job was given two pool ideas"
    bought = _ledger_ids(run, "SELECT DISTINCT job_id FROM attempts WHERE stage='idea'")
    assert not {j for (j,) in bought} & {j for j, _ in kept}, "a pooled job bought its own list"


def assert_cells_distinct(run: Path, log: RetoldLog) -> None:
    """Within a cell, the jobs' ideas differ in text and in the plot they tell."""
    by_cell: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for cell, idea, plot in ideas_used(run, log).values():
        by_cell[cell].append((idea, plot))
    for cell, items in by_cell.items():
        texts = [" ".join(idea.lower().split()) for idea, _ in items]
        assert len(set(texts)) == len(texts), f"{cell}: two jobs hold the same idea text"
        repeats = [p for p, n in Counter(p for _, p in items if p).items() if n > 1]
        assert not repeats, f"{cell}: two jobs were given the same plot {repeats}"


def ideas_used(run: Path, log: RetoldLog) -> dict[str, tuple[str, str, str | None]]:
    """Job id -> (cell, the idea its next stage was written from, that idea's plot): read
    from the fake's record of the request that wrote the job's stage after the idea (the
    one quoting `<idea>`, a `<plan>`, or a chat's `<message>`), whether the idea came from the pool
    or from the job's own list."""
    answers = {t.text.strip(): t for t in log.documents() if _from_idea(t.prompt)}
    rows = _ledger_ids(
        run,
        "SELECT o.job_id, j.genre || '/' || j.principle_id, o.text FROM outputs o "
        "JOIN jobs j ON j.id = o.job_id WHERE j.active = 1",
    )
    out: dict[str, tuple[str, str, str | None]] = {}
    for job_id, cell, text in rows:
        told = answers.get(str(text).strip())
        if told is not None:
            out[job_id] = (cell, told.source, _offered(log, told.source))
    return out


def _from_idea(prompt: str) -> bool:
    """A request written from the idea itself, not from a later stage that still quotes
    it (a chat's rewrite shows the `<message>` beside the `<reply>` it revises)."""
    quotes_idea = re.search(r"<(idea|plan|scenario|message)>", prompt)
    return bool(quotes_idea) and not re.search(r"<(draft|reply|outline|transcript)>", prompt)


def _offered(log: RetoldLog, idea: str) -> str | None:
    """The plot an idea list offered with this idea (None if no list offered it)."""
    for told in log.idea_lists():
        for line, plot in zip(told.text.splitlines(), told.plots, strict=True):
            if re.sub(r"^\s*\d+[.)]\s*", "", line).strip() == idea.strip():
                return plot
    return None


def assert_batch_priced(run: Path, model: str = "claude-haiku-4-5") -> None:
    """Every pool request's cost is its usage at our table's batch price (half of the
    immediate price), not the immediate one nor zero."""
    from sdf_corpus.pricing.prices import cost_usd, lookup_price

    price = lookup_price(model)
    assert price is not None
    rows = _ledger_ids(
        run,
        "SELECT input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd "
        "FROM attempts WHERE stage='idea_pool' AND outcome='ok'",
    )
    assert rows
    for inp, out, read, write, cost in rows:
        assert cost > 0
        assert cost == pytest.approx(cost_usd(price, inp, out, read, write, batch=True))
        assert cost == pytest.approx(cost_usd(price, inp, out, read, write) / 2)
