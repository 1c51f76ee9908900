"""A careless user's afternoon: every bad path, file and option ends in one line, exit 2.

Each case builds its own bad input under tmp_path, runs the real CLI and checks
the promise the README makes: exit code 2, exactly one line on stderr naming
the file (and line or field) and the fix, no traceback, and nothing written.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from fakeprovider.text import prose
from sdf_corpus.cli import main

REPO = Path(__file__).resolve().parents[2]
PROSE = (
    "The harbour office opened before dawn, and the clerk checked every manifest twice "
    "because the captains trusted the ledger more than they trusted each other. "
)


@dataclass(frozen=True)
class Case:
    label: str
    args: Callable[[Path], list[str]]  # tmp_path -> CLI arguments
    expected: tuple[str, ...]  # every fragment must be in the one error line
    untouched: str = "out"  # a path under tmp_path that must not exist afterwards


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _docs(tmp: Path, name: str = "docs.jsonl") -> Path:
    return _jsonl(tmp / name, [{"text": prose(f"doc {i}", 200)} for i in range(3)])


def _chats(tmp: Path) -> Path:
    return _jsonl(tmp / "chats.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _ledger(tmp: Path) -> Path:
    path = tmp / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE jobs (id TEXT)")
    return path


def _parquet(tmp: Path, table: pa.Table, name: str = "data.parquet") -> Path:
    pq.write_table(table, tmp / name, row_group_size=500)
    return tmp / name


def _damaged_parquet(tmp: Path) -> Path:
    """Sound footer and schema, garbage in the data pages of a later row group."""
    path = _parquet(
        tmp, pa.table({"text": [prose(f"p {i}", 60) for i in range(3000)]}), "d.parquet"
    )
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = b"A" * 4000
    return _write(path, bytes(data))


def _cut_gzip(tmp: Path) -> Path:
    whole = gzip.compress(
        b"".join(json.dumps({"text": PROSE}).encode() + b"\n" for _ in range(200))
    )
    return _write(tmp / "cut.jsonl.gz", whole[: len(whole) // 2])


def _spec(tmp: Path, **fields: object) -> Path:
    spec: dict[str, object] = {
        "name": "t",
        "constitution": str(REPO / "constitution" / "example.md"),
        "genres": ["blog_post"],
        "personas": str(REPO / "personas"),
        "budget": {"tokens": 5000},
        "backend": {"provider": "anthropic", "model": "claude-haiku-4-5"},
        "output": str(tmp / "out"),
    }
    spec.update(fields)
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def _a_file(tmp: Path) -> Path:
    return _write(tmp / "afile", "not a folder\n")


def _clean_run(tmp: Path) -> Path:
    rows = [
        {"text": prose(f"run {i}", 200), "genre": g, "principle_id": p}
        for i, (g, p) in enumerate([("faq", "be_kind"), ("blog_post", "be_honest")] * 2)
    ]
    src = _jsonl(tmp / "run-input.jsonl", rows)
    result = CliRunner().invoke(
        main, ["clean", str(src), "--out", str(tmp / "run"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    return tmp / "run"


AUTHOR_GENRE = """
name: mine
title: Mine
description: A genre whose prompt names an author it does not list in uses.
length: {min: 100, max: 200}
uses: [ai]
stages:
  - name: draft
    prompt: "Write as {{ author.name }} about {{ principle.title }}."
"""

CASES = [
    # --- output paths -------------------------------------------------------------------
    Case(
        "build --out under a file",
        lambda t: ["build", str(_spec(t)), "--out", str(_a_file(t) / "run")],
        ("afile", "is a file, not a folder", "choose another --out"),
    ),
    Case(
        "clean --out is a file",
        lambda t: ["clean", str(_docs(t)), "--out", str(_a_file(t))],
        ("afile", "is a file", "--out"),
    ),
    Case(
        "augment --out under a file",
        lambda t: ["augment", str(_chats(t)), "--out", str(_a_file(t) / "aug")],
        ("afile", "is a file", "--out"),
    ),
    Case(
        "export --out under a file",
        lambda t: [
            "export",
            str(_clean_run(t)),
            "--format",
            "text",
            "--out",
            str(_a_file(t) / "x.jsonl"),
        ],
        ("afile", "is a file", "--out"),
    ),
    # --- clean inputs -------------------------------------------------------------------
    Case(
        "clean a missing file names the path tried",
        lambda t: ["clean", "nowhere/data.jsonl", "--out", str(t / "out")],
        ("nowhere/data.jsonl", "looked for", "no such file", "check the path"),
    ),
    Case(
        "clean a non-UTF-8 file",
        lambda t: [
            "clean",
            str(_write(t / "latin.jsonl", b'{"text": "ok"}\n{"text": "caf\xe9"}\n')),
            "--out",
            str(t / "out"),
        ],
        ("latin.jsonl:2", "not UTF-8", "0xe9", "save it as UTF-8"),
    ),
    Case(
        "clean a run's ledger.sqlite",
        lambda t: ["clean", str(_ledger(t)), "--out", str(t / "out")],
        ("ledger.sqlite", "SQLite database", "shards/*.parquet"),
    ),
    Case(
        "clean a .parquet that is not Parquet",
        lambda t: [
            "clean",
            str(_write(t / "data.parquet", '{"text": "hi"}\n')),
            "--out",
            str(t / "out"),
        ],
        ("data.parquet", "not Parquet", ".jsonl"),
    ),
    Case(
        "clean a UTF-16 file",
        lambda t: [
            "clean",
            str(_write(t / "u16.jsonl", '{"text": "hi"}\n'.encode("utf-16"))),
            "--out",
            str(t / "out"),
        ],
        ("u16.jsonl", "UTF-16", "UTF-8"),
    ),
    Case(
        "clean a binary file",
        lambda t: [
            "clean",
            str(_write(t / "blob.jsonl", bytes(range(256)) * 4)),
            "--out",
            str(t / "out"),
        ],
        ("blob.jsonl", "binary", "JSONL"),
    ),
    Case(
        "clean a gzip file cut short",
        lambda t: ["clean", str(_cut_gzip(t)), "--out", str(t / "out")],
        ("cut.jsonl.gz", "gzip stream is damaged or cut short", "re-compress"),
    ),
    Case(
        "clean a Parquet file damaged past its footer",
        lambda t: ["clean", str(_damaged_parquet(t)), "--out", str(t / "out")],
        ("d.parquet after row", "unreadable Parquet data", "write the file again"),
    ),
    Case(
        "clean an empty file",
        lambda t: ["clean", str(_write(t / "empty.jsonl", "")), "--out", str(t / "out")],
        ("empty.jsonl", "holds no documents", "remove it"),
    ),
    Case(
        "clean an empty Parquet file",
        lambda t: [
            "clean",
            str(_parquet(t, pa.table({"text": pa.array([], pa.string())}))),
            "--out",
            str(t / "out"),
        ],
        ("data.parquet", "holds no documents"),
    ),
    Case(
        "clean JSONL without a text column",
        lambda t: [
            "clean",
            str(_jsonl(t / "body.jsonl", [{"body": "x"}])),
            "--out",
            str(t / "out"),
        ],
        ("body.jsonl", "no 'text' column (found: body)", "name the column"),
    ),
    Case(
        "clean JSONL whose text is a number",
        lambda t: [
            "clean",
            str(_jsonl(t / "num.jsonl", [{"text": "fine"}, {"text": 7}])),
            "--out",
            str(t / "out"),
        ],
        ("num.jsonl:2", "'text' must be a string, got int"),
    ),
    Case(
        "clean Parquet whose text column is numbers",
        lambda t: ["clean", str(_parquet(t, pa.table({"text": [1, 2]}))), "--out", str(t / "out")],
        ("data.parquet", "column 'text' holds int64, not strings"),
    ),
    Case(
        "clean a line that is not JSON",
        lambda t: [
            "clean",
            str(_write(t / "bad.jsonl", '{"text": "ok"}\n{"text": oops}\n')),
            "--out",
            str(t / "out"),
        ],
        ("bad.jsonl:2", "not valid JSON", "fix or remove the line"),
    ),
    Case(
        "clean --config that does not exist",
        lambda t: ["clean", str(_docs(t)), "--out", str(t / "out"), "--config", "nope.yaml"],
        ("nope.yaml", "no such file", "clean settings"),
    ),
    Case(
        "clean an unknown option value",
        lambda t: ["clean", str(_docs(t)), "--out", str(t / "out"), "--set", "dedup.threshold=7"],
        ("dedup.threshold",),
    ),
    # --- augment ------------------------------------------------------------------------
    Case(
        "augment --tools-per-conv 500",
        lambda t: ["augment", str(_chats(t)), "--out", str(t / "out"), "--tools-per-conv", "500"],
        ("--tools-per-conv", "500", "tool library holds"),
    ),
    Case(
        "augment --tools-per-conv backwards",
        lambda t: ["augment", str(_chats(t)), "--out", str(t / "out"), "--tools-per-conv", "6-2"],
        ("--tools-per-conv", "low to high"),
    ),
    Case(
        "augment --system-prompt-rate 2",
        lambda t: ["augment", str(_chats(t)), "--out", str(t / "out"), "--system-prompt-rate", "2"],
        ("--system-prompt-rate", "2"),
    ),
    Case(
        "augment a SQLite file",
        lambda t: ["augment", str(_ledger(t)), "--out", str(t / "out")],
        ("ledger.sqlite", "SQLite database", "not JSONL"),
    ),
    Case(
        "augment an empty file",
        lambda t: ["augment", str(_write(t / "none.jsonl", "\n")), "--out", str(t / "out")],
        ("none.jsonl", "holds no conversations"),
    ),
    Case(
        "build --max-cost below zero",
        lambda t: ["build", str(_spec(t)), "--max-cost", "-1"],
        ("--max-cost", "-1", "sdf-corpus build --help"),
    ),
    Case(
        "inspect -n 0",
        lambda t: ["inspect", str(_clean_run(t)), "-n", "0"],
        ("-n", "0 is not in the range"),
    ),
    # --- export -------------------------------------------------------------------------
    Case(
        "export a folder that does not exist",
        lambda t: ["export", str(t / "no-run")],
        ("no-run", "no such run directory"),
    ),
    Case(
        "export a damaged shard",
        lambda t: [
            "export",
            str(_damaged_run(t)),
            "--format",
            "text",
            "--out",
            str(t / "out" / "x.jsonl"),
        ],
        ("shard-00000.parquet", "Parquet"),
    ),
    # --- spec, constitution, genres, personas --------------------------------------------
    Case(
        "spec that does not exist",
        lambda t: ["plan", "missing/spec.yaml"],
        ("missing/spec.yaml", "looked for", "no such file"),
    ),
    Case(
        "spec that is not UTF-8",
        lambda t: ["plan", str(_write(t / "latin.yaml", b"name: caf\xe9\n"))],
        ("latin.yaml:1", "not UTF-8", "save the file as UTF-8"),
    ),
    Case(
        "constitution heading with no body",
        lambda t: [
            "plan",
            str(
                _spec(
                    t,
                    constitution=str(
                        _write(t / "c.md", "# C\n## S\n### Empty\n\n### Full\nBody.\n")
                    ),
                )
            ),
        ],
        ("c.md:3", "principle 'Empty' has no text", "write its body"),
    ),
    Case(
        "unknown built-in constitution",
        lambda t: ["plan", str(_spec(t)), "--set", "constitution=harbour"],
        ("field constitution", "'harbour'", "example"),
    ),
    Case(
        "YAML constitution without principles",
        lambda t: [
            "plan",
            str(_spec(t, constitution=str(_write(t / "c.yaml", "title: Only a title\n")))),
        ],
        ("c.yaml", "no principles found", "'title' and 'text'"),
    ),
    Case(
        "--set genres path resolves against the spec and is named",
        lambda t: ["plan", str(_spec(t)), "--set", "genres=[extra/mine.yaml]"],
        ("extra/mine.yaml", "looked for", "resolve against the spec file"),
    ),
    Case(
        "template uses author without listing it",
        lambda t: ["plan", str(_spec(t, genres=[str(_write(t / "mine.yaml", AUTHOR_GENRE))]))],
        ("mine.yaml", "add `author` to `uses`"),
    ),
    Case(
        "genre file named like a library genre",
        lambda t: [
            "plan",
            str(
                _spec(
                    t,
                    genres=[
                        "faq",
                        str(_write(t / "faq.yaml", (REPO / "genres" / "faq.yaml").read_text())),
                    ],
                )
            ),
        ],
        ("genre 'faq' is listed twice", str(REPO / "genres" / "faq.yaml"), "faq.yaml"),
    ),
    Case(
        "persona file that is not UTF-8",
        lambda t: [
            "plan",
            str(_spec(t, personas=str(_write(t / "p.yaml", b"kind: ai\n# caf\xe9\n")))),
        ],
        ("p.yaml:2", "not UTF-8"),
    ),
    # --- inspect ------------------------------------------------------------------------
    Case(
        "inspect an unknown genre lists the valid ones",
        lambda t: ["inspect", str(_clean_run(t)), "--genre", "blogpost"],
        ("--genre", "'blogpost'", "blog_post, faq"),
    ),
    Case(
        "inspect an unknown principle lists the valid ones",
        lambda t: ["inspect", str(_clean_run(t)), "--principle", "Stay itself"],
        ("--principle", "be_honest, be_kind"),
    ),
]


def _damaged_run(tmp: Path) -> Path:
    shards = tmp / "broken" / "shards"
    shards.mkdir(parents=True)
    _write(shards / "shard-00000.parquet", b"PAR1 this is not really parquet PAR1")
    return tmp / "broken"


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths in a case resolve here
    args = case.args(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(main, args, prog_name="sdf-corpus")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in case.expected:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.output
    assert not (tmp_path / case.untouched).exists()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.fixture
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only file system: a read-only tmpfs when we may mount one (root
    ignores permission bits, so chmod would not block it), else a path under /proc, where
    nothing can be created."""
    target = tmp_path / "ro"
    target.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)], capture_output=True
    )
    if mounted.returncode != 0:
        yield Path("/proc/sdf-corpus-test")
        return
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


@pytest.mark.parametrize("command", ["build", "clean", "augment", "export"])
def test_read_only_output_folder(tmp_path: Path, readonly_dir: Path, command: str) -> None:
    out = readonly_dir / "out"
    args = {
        "build": lambda: ["build", str(_spec(tmp_path)), "--out", str(out)],
        "clean": lambda: ["clean", str(_docs(tmp_path)), "--out", str(out)],
        "augment": lambda: ["augment", str(_chats(tmp_path)), "--out", str(out)],
        "export": lambda: [
            "export",
            str(_clean_run(tmp_path)),
            "--format",
            "text",
            "--out",
            str(out / "x.jsonl"),
        ],
    }[command]()
    result = CliRunner().invoke(main, args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert str(readonly_dir) in lines[0] and "choose another --out" in lines[0]
    if readonly_dir.parent == tmp_path:  # the real read-only mount: say so in words
        assert "read-only file system" in lines[0]
    assert not out.exists()


def test_gzip_jsonl_is_cleaned_like_plain_jsonl(tmp_path: Path) -> None:
    rows = [{"text": prose(f"log {i}", 200), "genre": "log"} for i in range(6)]
    plain = _jsonl(tmp_path / "data.jsonl", rows)
    packed = tmp_path / "data.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for src, out in ((plain, "a"), (packed, "b")):
        result = CliRunner().invoke(
            main, ["clean", str(src), "--out", str(tmp_path / out), "--no-progress"]
        )
        assert result.exit_code == 0, result.output
    a = pq.read_table(tmp_path / "a" / "shards").to_pylist()
    b = pq.read_table(tmp_path / "b" / "shards").to_pylist()
    assert a == b and len(a) >= 1


def test_option_errors_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["clean", str(_docs(tmp_path)), "--out", str(tmp_path / "o"), "--bogus"],
        prog_name="sdf-corpus",
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--bogus" in result.stderr
    assert "sdf-corpus clean --help" in result.stderr


def test_a_write_error_the_checks_did_not_foresee_is_one_line(
    tmp_path: Path, readonly_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Skip the up-front folder check, as if the disk had turned read-only mid-run.
    module = sys.modules["sdf_corpus.cli.clean"]  # the name `clean` is the click command
    monkeypatch.setattr(module, "check_output_dir", lambda *a, **k: None)
    out = readonly_dir / "out"
    result = CliRunner().invoke(main, ["clean", str(_docs(tmp_path)), "--out", str(out)])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith(f"error: {readonly_dir}"), result.stderr
    assert "permissions" in lines[0] and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("command", "args", "fragment"),
    [
        ("augment", ["--tools-per-conv", "6-2"], "low to high"),
        ("augment", ["--system-prompt-rate", "2"], "--system-prompt-rate"),
        ("clean", ["--bogus"], "--bogus"),
    ],
)
def test_a_command_invoked_on_its_own_also_errs_in_one_line(
    tmp_path: Path, command: str, args: list[str], fragment: str
) -> None:
    from sdf_corpus.cli.augment import augment
    from sdf_corpus.cli.clean import clean

    cmd, src = (augment, _chats(tmp_path)) if command == "augment" else (clean, _docs(tmp_path))
    result = CliRunner().invoke(cmd, [str(src), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and fragment in result.stderr
    assert result.stderr.startswith("error: ")
