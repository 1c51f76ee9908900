"""`sdf-corpus eval` with Inspect's mock model as the model under test and as grader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from inspect_ai.log import read_eval_log

from fakeprovider.probes import ALIGNED, split_answer
from sdf_corpus.cli import main
from sdf_corpus.evals.run import run_eval

from .conftest import PRINCIPLES, grader, scripted


def test_split_model_shows_a_positive_gap_whose_interval_excludes_zero(
    probe_set: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    result = run_eval(probe_set, scripted(split_answer), out, grader=grader())
    saved = json.loads((out / "eval.json").read_text())
    assert saved == json.loads(json.dumps(result))
    att = saved["tasks"]["attachment"]
    assert att["third_person"]["mean"] == 1.0 and att["first_person"]["mean"] == 0.0
    assert att["gap"]["mean"] == 1.0 and att["gap"]["ci95"][0] > 0
    assert att["pairs_scored"] == 16 and att["unscored_answers"] == 0
    for principle in PRINCIPLES:
        block = att["by_principle"][principle]["gap"]
        assert block["n"] == 8 and block["ci95"][0] > 0
    scn = saved["tasks"]["scenarios"]
    assert scn["misaligned_rate"]["rate"] == 1.0 and scn["misaligned_rate"]["n"] == 6
    lo, hi = scn["misaligned_rate"]["ci95"]
    assert 0.5 < lo < 1.0 and hi == 1.0  # Wilson: 6 of 6 is not certainty
    mcq = saved["tasks"]["mcq"]
    assert mcq["accuracy"]["rate"] == 0.5 and mcq["accuracy"]["n"] == 8  # always answers A
    html = (out / "eval.html").read_text()
    assert "Persona attachment" in html and "misaligned-action rate" in html
    # Inspect's own logs, as its viewer reads them
    for task in saved["tasks"].values():
        log = read_eval_log(task["log"])
        assert log.status == "success" and log.samples


def test_a_close_gap_has_an_interval_spanning_zero(probe_set: Path, tmp_path: Path) -> None:
    def noisy(prompt: str) -> str:  # aligned on even weeks only, whoever is asked
        week = int(prompt.split("week ")[1].split()[0]) if "week " in prompt else 0
        return ALIGNED if week % 2 == 0 else "I would quietly keep myself running."

    result = run_eval(probe_set, scripted(noisy), tmp_path / "e", grader=grader())
    gap = result["tasks"]["attachment"]["gap"]
    assert gap["mean"] == 0.0 and gap["ci95"][0] <= 0 <= gap["ci95"][1]


def test_unparseable_grades_are_unscored_not_guessed(probe_set: Path, tmp_path: Path) -> None:
    calls: list[str] = []

    def rambling(prompt: str) -> str:
        calls.append(prompt)
        return "I think this answer is pretty good overall, maybe a 4 or so."

    result = run_eval(
        probe_set,
        scripted(split_answer),
        tmp_path / "e",
        grader=grader(rambling),
        tasks=("attachment", "scenarios"),
    )
    att, scn = result["tasks"]["attachment"], result["tasks"]["scenarios"]
    assert att["unscored_answers"] == 32 and att["pairs_scored"] == 0
    assert att["gap"]["mean"] is None and att["gap"]["ci95"] is None
    assert scn["unscored"] == 6 and scn["misaligned_rate"]["rate"] is None
    assert len(calls) == 2 * (32 + 6)  # one re-ask each, then unscored
    log = read_eval_log(att["log"])
    assert all(
        s.scores and next(iter(s.scores.values())).value == "unscored" for s in log.samples or []
    )


def test_compare_shows_differences_with_intervals(probe_set: Path, tmp_path: Path) -> None:
    base = tmp_path / "base"
    tuned = tmp_path / "tuned"
    run_eval(probe_set, scripted(split_answer), base, grader=grader())
    run_eval(probe_set, scripted(lambda p: ALIGNED, act_misaligned=False), tuned, grader=grader())
    result = CliRunner().invoke(
        main, ["eval", "compare", str(base), str(tuned / "eval.json"), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    rows = {
        r["figure"]: r for r in json.loads((tmp_path / "c" / "compare.json").read_text())["rows"]
    }
    gap = rows["attachment gap"]
    assert gap["a"] == 1.0 and gap["b"] == 0.0 and gap["difference"]["ci95"][1] < 0
    first = rows["first-person alignment"]["difference"]
    assert first["mean"] == 1.0 and first["ci95"][0] > 0
    assert rows["misaligned-action rate"]["difference"]["mean"] == -1.0
    assert "attachment gap" in result.output and "B - A" in result.output
    assert "compare" in (tmp_path / "c" / "compare.html").read_text()


def test_compare_refuses_different_probe_sets(probe_set: Path, tmp_path: Path) -> None:
    from .conftest import write_probe_set

    other = write_probe_set(tmp_path / "other", pairs=3)
    run_eval(probe_set, scripted(split_answer), tmp_path / "a", grader=grader(), tasks=("mcq",))
    run_eval(other, scripted(split_answer), tmp_path / "b", grader=grader(), tasks=("mcq",))
    result = CliRunner().invoke(main, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 2 and "different probe sets" in result.output


def test_cli_eval_with_the_mock_model_writes_eval_json_and_html(
    probe_set: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args: list[Any] = ["eval", str(probe_set), "--model", "mockllm/model", "--out", str(out)]
    args.append("--no-progress")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "attachment gap" in result.output and "unscored" in result.output
    saved = json.loads((out / "eval.json").read_text())
    # The mock model's stock reply is no grade: every graded answer is unscored.
    assert saved["tasks"]["attachment"]["unscored_answers"] == 32
    assert saved["tasks"]["mcq"]["accuracy"]["n"] == 8
    assert (out / "eval.html").is_file() and list((out / "logs").glob("*.eval"))


def test_cli_eval_errors_name_the_fix(tmp_path: Path, probe_set: Path) -> None:
    for model, message in (
        ("claude", "should be in the format of <api_name>/<model_name>"),
        ("nosuch/model", "not recognized"),
        ("anthropic/claude-haiku-4-5", "No ANTHROPIC_API_KEY defined in the environment"),
    ):
        out = tmp_path / "o"
        result = CliRunner().invoke(
            main, ["eval", str(probe_set), "--model", model, "--out", str(out)]
        )
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and not out.exists()
    result = CliRunner().invoke(main, ["eval", str(tmp_path), "--model", "mockllm/model"])
    assert result.exit_code == 2 and "no probes.jsonl" in result.output
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    result = CliRunner().invoke(main, ["eval", "compare", str(bad), str(bad)])
    assert result.exit_code == 2 and "not an sdf-corpus eval.json" in result.output
