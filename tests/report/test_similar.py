"""`inspect --similar` and `inspect --id` on a run of known stories.

The run is written by the real clean stage (dedup and filters off, so every retelling
reaches the shards) and embedded by the real embedder; every sample here is every
document, so no figure depends on which documents a hash picked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.cli.inspect import inspect
from sdf_corpus.report.similar import find_similar


def test_inspect_similar_lists_the_retellings_first(plots_run: Path) -> None:
    result = CliRunner().invoke(inspect, [str(plots_run), "--similar", "story-03-1", "-n", "4"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("== story-03-1 | story | care | ")
    assert "nearest of 47 documents in genre story (all of them)" in lines[1]
    ids = [line.split()[1] for line in lines[2:]]
    assert len(ids) == 4 and sorted(ids[:3]) == ["story-03-0", "story-03-2", "story-03-3"]
    cosines = [float(line.split()[0]) for line in lines[2:]]
    assert cosines == sorted(cosines, reverse=True) and cosines[2] >= 0.9 > cosines[3]


def test_inspect_similar_across_genres_finds_the_essay_too(plots_run: Path) -> None:
    found = find_similar(plots_run, "story-03-0", 5, any_genre=True)
    assert found.scope == "every genre" and found.of == 64 and found.searched == 63
    # the essay told plot 3 exactly as retelling 0 did: cosine 1, first
    assert found.neighbours[0].id == "essay-03" and found.neighbours[0].cosine == pytest.approx(1)
    bounded = find_similar(plots_run, "story-03-0", 3, limit=10)
    assert bounded.searched == 10 and bounded.of == 47 and len(bounded.neighbours) == 3


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--similar", "no-such-id"], "'no-such-id' is not the id of a kept document"),
        (["--any-genre"], "add --similar DOC_ID"),
        (["--similar", "story-03-1", "--genre", "story"], "does not combine with --genre"),
    ],
)
def test_inspect_similar_errors_are_one_line_exit_2(
    plots_run: Path, args: list[str], needle: str
) -> None:
    result = CliRunner().invoke(inspect, [str(plots_run), *args])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert needle in result.output
    if "no-such-id" in args:
        assert "sdf-corpus inspect" in result.output


def test_inspect_id_reads_the_neighbours_similar_lists(plots_run: Path) -> None:
    found = find_similar(plots_run, "story-05-0", 2)
    ids = [nb.id for nb in found.neighbours]
    args = [str(plots_run), "-n", "10"] + [a for i in ids for a in ("--id", i)]
    result = CliRunner().invoke(inspect, args)
    assert result.exit_code == 0, result.output
    headers = [line for line in result.output.splitlines() if line.startswith("== ")]
    assert sorted(h.split(" | ")[0][3:] for h in headers) == sorted(ids)
