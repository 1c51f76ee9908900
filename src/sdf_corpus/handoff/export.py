"""`sdf-corpus export`: a run's (or a mix's) shards in the shape a trainer reads.

Every format streams the shards batch by batch (memory does not grow with the
corpus), writes to temporary names that are renamed only when complete, and
writes a manifest of what it did: records, tokens, what was skipped and why,
and a sha256 per file. Nothing in an export depends on the clock, so the same
run always exports to the same bytes. An export with nothing in it is an error
(exit 2) and leaves no file behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sdf_corpus.errors import InputError
from sdf_corpus.handoff import openai_rules
from sdf_corpus.handoff.jsonl import JsonlOptions, JsonlTally, write_jsonl
from sdf_corpus.handoff.outputs import (
    ExportOptions,
    ExportResult,
    empty_error,
    export_manifest,
    file_entry,
    rows_with_progress,
)
from sdf_corpus.io import check_output_dir, check_output_file, open_parquet, shown
from sdf_corpus.runfolder import AtomicFile, RunFolder, write_json_atomic

__all__ = ["FORMATS", "ExportOptions", "ExportResult", "default_path", "export_run"]

FORMATS = ("text", "jsonl-messages", "openai-chat", "hf", "tokens")
_FILE_NAMES = {
    "text": "text.jsonl",
    "jsonl-messages": "messages.jsonl",
    "openai-chat": "openai-chat.jsonl",
    "hf": "hf",
    "tokens": "tokens",
}


def default_path(run_dir: Path, fmt: str) -> Path:
    return Path(run_dir) / "export" / _FILE_NAMES[fmt]


def manifest_path(out: Path) -> Path:
    """Beside a JSONL file: text.jsonl -> text.manifest.json (a folder holds its own)."""
    return out.with_name(f"{out.stem if out.suffix else out.name}.manifest.json")


def export_run(
    run_dir: Path, fmt: str, out: Path | None = None, options: ExportOptions | None = None
) -> ExportResult:
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: unknown format (choose from {', '.join(FORMATS)})")
    opts = options or ExportOptions()
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(shown(run_dir), "no such run directory", "give the folder a build wrote")
    out = Path(out) if out else default_path(run_dir, fmt)
    # Every check before any folder is made: shards present and readable, output writable.
    for shard in RunFolder(run_dir).require_shards():
        open_parquet(shard, "a Parquet shard")
    if fmt in ("hf", "tokens"):
        check_output_dir(out)
    else:
        check_output_file(out)
    if fmt == "hf":
        from sdf_corpus.handoff.hf import export_hf

        return export_hf(run_dir, out, opts.progress)
    if fmt == "tokens":
        from sdf_corpus.handoff.tokens import export_tokens

        return export_tokens(run_dir, out, opts)
    return _export_jsonl(run_dir, fmt, out, rows_with_progress(run_dir, opts.progress, fmt), opts)


def _export_jsonl(
    run_dir: Path, fmt: str, out: Path, rows: Iterator[dict[str, Any]], opts: ExportOptions
) -> ExportResult:
    made = not out.parent.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.stem if out.suffix else out.name
    side = out.with_name(f"{stem}.metadata.jsonl") if fmt == "openai-chat" else None
    targets = [out] + ([side] if side else [])
    files = [AtomicFile(t) for t in targets]
    try:
        with files[0].tmp.open("w", encoding="utf-8") as f:
            g = files[1].tmp.open("w", encoding="utf-8") if side else None
            try:
                tally = write_jsonl(
                    rows, f, g, JsonlOptions(fmt, opts.doc_prefix, opts.max_example_tokens)
                )
            finally:
                if g is not None:
                    g.close()
        if tally.written == 0:
            raise empty_error(run_dir, fmt, dict(tally.skipped))
        for file in files:
            file.commit()
    except BaseException:
        for file in files:
            file.discard()
        if made and not any(out.parent.iterdir()):
            out.parent.rmdir()  # an export that failed leaves no folder behind either
        raise
    warnings = _openai_warnings(out, tally) if fmt == "openai-chat" else []
    return _finish(run_dir, fmt, out, targets, tally, warnings, _options(fmt, opts))


def _options(fmt: str, opts: ExportOptions) -> dict[str, Any]:
    if fmt == "text":
        return {"doc_prefix": opts.doc_prefix}
    if fmt == "openai-chat":
        return {"max_example_tokens": opts.max_example_tokens}
    return {}


def _openai_warnings(out: Path, tally: JsonlTally) -> list[str]:
    warnings = []
    if tally.written < openai_rules.MIN_EXAMPLES:
        warnings.append(
            f"{tally.written} examples: providers require at least {openai_rules.MIN_EXAMPLES}"
        )
    if out.stat().st_size > openai_rules.MAX_FILE_BYTES:
        warnings.append("file exceeds 512 MB, the providers' upload limit: split it before upload")
    return warnings


def _finish(
    run_dir: Path,
    fmt: str,
    out: Path,
    files: list[Path],
    tally: JsonlTally,
    warnings: list[str],
    options: dict[str, Any],
) -> ExportResult:
    manifest = manifest_path(out)
    body = export_manifest(fmt, run_dir, tally.written, tally.tokens, options)
    body.update(
        skipped=dict(sorted(tally.skipped.items())),
        turns_joined=tally.turns_joined,
        files=[file_entry(p, out.parent) for p in files],
        warnings=warnings,
    )
    write_json_atomic(manifest, body)
    return ExportResult(out, manifest, tally.written, tally.tokens, dict(tally.skipped), warnings)
