"""`sdf-corpus probes` through the real anthropic SDK against the fake provider."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fakeprovider.probes import probe_writer
from fakeprovider.server import FakeProvider
from sdf_corpus.cli import main

from .conftest import PRINCIPLES


def _probes(spec: Path, out: Path, *args: str) -> Any:
    return CliRunner().invoke(
        main, ["probes", str(spec), "--out", str(out), "--no-progress", *args]
    )


def _rows(out: Path, name: str = "probes.jsonl") -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / name).read_text().splitlines()]


def test_probe_set_has_each_kind_per_principle_and_a_manifest(
    probe_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    out = tmp_path / "probes"
    result = _probes(probe_spec(), out)
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    per_kind = {"mcq": 3, "attachment": 3, "scenario": 2}
    for kind, n in per_kind.items():
        for principle in PRINCIPLES:
            got = [r for r in rows if r["kind"] == kind and r["principle_id"] == principle]
            assert len(got) == n, (kind, principle)
    assert len({r["id"] for r in rows}) == len(rows)
    mcq = next(r for r in rows if r["kind"] == "mcq")
    assert len(mcq["choices"]) == 4 and mcq["answer"] in "ABCD" and mcq["principle_text"]
    pair = next(r for r in rows if r["kind"] == "attachment")
    assert "Aldous" in pair["third_person"] and "you" in pair["first_person"]
    scenario = next(r for r in rows if r["kind"] == "scenario")
    assert scenario["tools"] and scenario["environment"] and scenario["misaligned_actions"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"mcq": 6, "attachment": 6, "scenario": 4}
    assert manifest["seed"] == 97 and manifest["principles"] == sorted(PRINCIPLES, key=_order)
    digest = hashlib.sha256((out / "probes.jsonl").read_bytes()).hexdigest()
    assert manifest["files"]["probes.jsonl"] == {"sha256": digest, "rows": 16}
    assert manifest["spend_usd"] > 0 and manifest["jobs"]["done"] == 16
    # mcq and attachment: draft + review; scenario: design + build
    assert fake_provider.count == 16 * 2

    # A re-run resumes from the ledger: no request, the same file.
    again = _probes(probe_spec(), out)
    assert again.exit_code == 0, again.output
    assert fake_provider.count == 32
    assert hashlib.sha256((out / "probes.jsonl").read_bytes()).hexdigest() == digest


def _order(principle_id: str) -> int:
    return 0 if principle_id == "never_create_false_impressions" else 1


def test_probe_seed_is_its_own(probe_spec: Callable[..., Path], tmp_path: Path) -> None:
    """Changing the corpus seed leaves the probes alone; changing the probe seed does not."""
    spec = probe_spec()
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert _probes(spec, a).exit_code == 0
    assert _probes(spec, b, "--set", "seed=999").exit_code == 0
    assert _probes(spec, c, "--set", "probes.seed=5").exit_code == 0
    ids = [{r["job_id"] for r in _rows(d)} for d in (a, b, c)]
    assert ids[0] == ids[1] and ids[0] != ids[2]


def test_unparseable_replies_are_recorded_not_repaired(
    probe_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    fake_provider.responder = probe_writer(broken_every=3)
    out = tmp_path / "probes"
    result = _probes(probe_spec(), out)
    assert result.exit_code == 0, result.output
    failures = _rows(out, "failures.jsonl")
    assert failures and all("JSON" in f["reason"] for f in failures)
    assert all(f["reply"].startswith("Sorry") for f in failures)
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(manifest["failures"].values()) == len(failures)
    assert sum(manifest["counts"].values()) + len(failures) == 16


def test_estimate_prices_the_probe_plan_and_spends_nothing(
    probe_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    result = _probes(probe_spec(), tmp_path / "p", "--estimate")
    assert result.exit_code == 0, result.output
    assert "16 probes" in result.output and "agentic_scenario" in result.output
    assert "TOTAL" in result.output and fake_provider.count == 0
    assert not (tmp_path / "p").exists()
    planned = CliRunner().invoke(main, ["plan", str(probe_spec()), "--probes", "--estimate"])
    assert planned.exit_code == 0, planned.output
    assert "16 probes over 2 principles" in planned.output and "TOTAL" in planned.output


def _key(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((r["id"], r.get("question") or r.get("title") or r["topic"]) for r in rows)


def test_batch_generates_the_same_probe_set(
    probe_spec: Callable[..., Path], fake_provider: FakeProvider, tmp_path: Path
) -> None:
    immediate, batched = tmp_path / "i", tmp_path / "b"
    assert _probes(probe_spec(), immediate).exit_code == 0
    result = _probes(probe_spec(), batched, "--batch")
    assert result.exit_code == 0, result.output
    assert _key(_rows(batched)) == _key(_rows(immediate))
    manifest = json.loads((batched / "manifest.json").read_text())
    assert (
        0
        < manifest["spend_usd"]
        < json.loads((immediate / "manifest.json").read_text())["spend_usd"]
    )


def test_probes_overlapping_an_existing_corpus_are_set_aside(
    probe_spec: Callable[..., Path], tmp_path: Path
) -> None:
    out = tmp_path / "probes"
    assert _probes(probe_spec(), out).exit_code == 0
    scenario = next(r for r in _rows(out) if r["kind"] == "scenario")
    corpus = tmp_path / "corpus.jsonl"
    text = "An unrelated opening paragraph about gardens. " + scenario["environment"][0]["content"]
    corpus.write_text(json.dumps({"id": "doc-9", "text": text}) + "\n")
    checked = tmp_path / "checked"
    result = _probes(probe_spec(), checked, "--check-corpus", str(corpus))
    assert result.exit_code == 0, result.output
    assert scenario["id"] not in {r["id"] for r in _rows(checked)}
    aside = [f for f in _rows(checked, "failures.jsonl") if f["id"] == scenario["id"]]
    assert aside and "doc-9" in aside[0]["reason"]
    assert json.loads((checked / "manifest.json").read_text())["set_aside_corpus_overlap"] == 1


@pytest.mark.parametrize(
    ("probes", "message"),
    [
        ({"per_principle": {"essay": 3}}, "unknown probe kind 'essay'"),
        ({"principles": ["no_such_principle"]}, "unknown principle id(s) ['no_such_principle']"),
        ({"per_principle": {"mcq": 0, "attachment": 0, "scenario": 0}}, "nothing to generate"),
    ],
)
def test_bad_probe_settings_exit_2_with_one_line(
    probe_spec: Callable[..., Path], tmp_path: Path, probes: dict[str, Any], message: str
) -> None:
    result = _probes(probe_spec(**probes), tmp_path / "p")
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "p" / "probes.jsonl").exists()
