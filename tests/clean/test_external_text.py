"""A user's own text through `sdf-corpus clean`: sound prose is kept.

The corpus is the standard library's own docstrings, collected at test time with
`inspect.getdoc`: real, varied technical prose that often ends in a list, a code
line or a colon, and that no generator ever cut off.
"""

from __future__ import annotations

import importlib
import inspect
import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdf_corpus.cli import main

_MODULE_NAMES = (
    "abc argparse ast asyncio base64 bisect bz2 calendar cmd code codecs collections "
    "colorsys concurrent.futures configparser contextlib contextvars copy csv dataclasses "
    "datetime decimal difflib dis doctest email.message enum filecmp fileinput fnmatch "
    "fractions ftplib functools getopt gettext glob graphlib gzip hashlib heapq hmac "
    "html.parser http.client imaplib importlib inspect io ipaddress itertools json "
    "linecache locale logging lzma mailbox math mimetypes mmap multiprocessing netrc "
    "numbers operator optparse os pathlib pickle pkgutil platform plistlib poplib pprint "
    "pydoc queue quopri random re reprlib runpy sched secrets selectors shelve shlex "
    "shutil signal smtplib socket socketserver sqlite3 statistics string struct "
    "subprocess symtable sysconfig tarfile tempfile textwrap threading timeit tokenize "
    "trace traceback types typing unittest urllib.parse uuid warnings weakref wave "
    "xml.etree.ElementTree zipfile zipimport zlib"
)
MODULES = _MODULE_NAMES.split()  # a varied slice of the library, fixed so runs compare
MIN_WORDS = 60
# The truncation heuristic's idea of a clean ending (see clean/filters/truncated.py).
CLEAN_END = set(".!?\u2026\"'\u201d\u2019)]*_`~>|")


def _is_prose(doc: str) -> bool:
    """Documentation prose: not a doctest session, a literal block or a grammar listing."""
    lines = [line.strip() for line in doc.splitlines()]
    return "::" not in doc and not any(line.startswith((">>>", "|")) for line in lines)


def stdlib_docstrings() -> list[str]:
    seen: dict[str, None] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few modules warn that they are deprecated
        for name in MODULES:
            module = importlib.import_module(name)
            members = [
                obj
                for _, obj in sorted(vars(module).items())
                if (inspect.isclass(obj) or inspect.isfunction(obj))
                and getattr(obj, "__module__", None) == module.__name__
            ]
            for obj in [module, *members]:
                doc = inspect.getdoc(obj)
                if doc and len(doc.split()) >= MIN_WORDS and _is_prose(doc):
                    seen.setdefault(doc)
    return list(seen)


@pytest.fixture(scope="module")
def docstrings() -> list[str]:
    docs = stdlib_docstrings()
    assert len(docs) >= 150  # enough for a share to mean something
    return docs


def _clean(tmp: Path, rows: list[dict[str, str]]) -> tuple[dict[str, int], list[dict[str, object]]]:
    src = tmp / "docs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp / "out"
    result = CliRunner().invoke(main, ["clean", str(src), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "clean_stats.json").read_text())
    rejected = [json.loads(line) for line in (out / "rejected" / "rejected.jsonl").open()]
    return {"input": stats["input"]["docs"], "kept": stats["kept"]["docs"]}, rejected


def test_docstring_prose_keeps_at_least_95_percent(tmp_path: Path, docstrings: list[str]) -> None:
    unfinished = [d for d in docstrings if d.rstrip()[-1] not in CLEAN_END]
    assert len(unfinished) >= 0.05 * len(docstrings)  # the case the truncation rule got wrong
    counts, rejected = _clean(tmp_path, [{"text": d} for d in docstrings])
    assert counts["input"] == len(docstrings)
    assert counts["kept"] >= 0.95 * counts["input"], sorted(r["reason"] for r in rejected)
    assert not [r for r in rejected if r["reason"] == "truncated"]
    kept = _kept(tmp_path)
    assert not [r for r in kept if "truncated" in _quality(r)]
    # every unfinished-looking docstring that no other rule dropped is kept word for word
    dropped = {str(r["text"]) for r in rejected}
    assert {d for d in unfinished if d not in dropped} <= {str(r["text"]) for r in kept}


def test_generated_text_still_meets_the_truncation_rule(
    tmp_path: Path, docstrings: list[str]
) -> None:
    rows = [{"text": d, "backend": "local"} for d in docstrings]  # as a generation run stores them
    _, rejected = _clean(tmp_path, rows)
    trimmed = [r for r in _kept(tmp_path) if "truncated" in _quality(r)]
    dropped = [r for r in rejected if r["reason"] == "truncated"]
    assert len(trimmed) + len(dropped) >= 5


def _quality(row: dict[str, object]) -> dict[str, object]:
    """The quality column as a Document holds it (filter name -> what it measured)."""
    from sdf_corpus.shards import quality_from_native

    return quality_from_native(row["quality"])  # type: ignore[arg-type]


def _kept(tmp: Path) -> list[dict[str, object]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, object]] = []
    for shard in sorted((tmp / "out" / "shards").glob("*.parquet")):
        rows += pq.read_table(shard).to_pylist()
    return rows
