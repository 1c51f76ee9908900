"""The `tokens` export: pre-tokenized documents for pretraining-style trainers.

Written by datatrove's DocumentTokenizer (no binary format of ours): one token
stream per export with an end-of-document token after each document, a
`.index` of document ends, and, with a document prefix, a `.loss` mask that
zeroes the prefix's tokens. A trainer reads it as packed sequences of
`seq_len` tokens with `datatrove.utils.dataset.DatatroveFolderDataset(OUT,
seq_len, token_size=...)`. Documents are written in shard order (no shuffle),
so the export is deterministic; `documents.jsonl` gives each document's
metadata and token count in the same order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sdf_corpus.errors import InputError
from sdf_corpus.handoff.outputs import (
    ExportOptions,
    ExportResult,
    empty_error,
    export_manifest,
    file_entry,
    rows_with_progress,
)
from sdf_corpus.handoff.records import metadata
from sdf_corpus.handoff.tokenizer import ResolvedTokenizer, resolve_tokenizer
from sdf_corpus.runfolder import replace_folder, sha256_file, staged_folder, write_json_atomic

__all__ = ["export_tokens"]

_NAME = "corpus"
_BATCH_DOCS = 256


def _documents(
    rows: Iterator[dict[str, Any]], prefix: str, side: Any, tally: dict[str, int]
) -> Iterator[Any]:
    from datatrove.data import Document as TroveDocument

    for row in rows:
        meta = metadata(row)
        side.write(json.dumps(meta, ensure_ascii=False) + "\n")
        extra: dict[str, Any] = {"no_loss_ranges": [(0, len(prefix))]} if prefix else {}
        tally["documents"] += 1
        yield TroveDocument(
            text=prefix + (row.get("text") or ""), id=str(row["id"]), metadata=extra
        )


def export_tokens(run_dir: Path, out: Path, opts: ExportOptions) -> ExportResult:
    tok = resolve_tokenizer(opts.tokenizer)
    try:
        from datatrove.pipeline.tokens import DocumentTokenizer
        from loguru import logger
    except ImportError:
        raise InputError(
            "--format tokens needs datatrove (pip install 'sdf-corpus[train]')"
        ) from None
    logger.disable("datatrove")  # its per-step logging would bury our progress bar
    with staged_folder(out.parent, "tokens") as staging:
        step = DocumentTokenizer(
            output_folder=str(staging),
            tokenizer_name_or_path=str(tok.path),
            eos_token=tok.eos_token,
            save_filename=_NAME,
            shuffle_documents=False,
            save_loss_metadata=bool(opts.doc_prefix),
            # A tokenizers Encoding costs ~100 bytes a token (ids, offsets, strings):
            # datatrove's default batch of 10,000 documents peaked near 3 GiB.
            batch_size=_BATCH_DOCS,
        )
        tally = {"documents": 0}
        with (staging / "documents.jsonl").open("w", encoding="utf-8") as side:
            rows = rows_with_progress(run_dir, opts.progress, "tokens")
            step.run(_documents(rows, opts.doc_prefix, side, tally))
        if tally["documents"] == 0:
            raise empty_error(run_dir, "tokens", {})
        tokens = int(step.stats.stats["tokens"].total) if "tokens" in step.stats.stats else 0
        _write_manifest(run_dir, staging, tok, step.token_size, tally["documents"], tokens, opts)
        replace_folder(staging, out)
    return ExportResult(out, out / "export_manifest.json", tally["documents"], tokens)


def _write_manifest(
    run_dir: Path,
    staging: Path,
    tok: ResolvedTokenizer,
    token_size: int,
    documents: int,
    tokens: int,
    opts: ExportOptions,
) -> None:
    options = {"doc_prefix": opts.doc_prefix, "seq_len": opts.seq_len}
    body = export_manifest("tokens", run_dir, documents, tokens, options)
    body.update(
        tokenizer={
            "name": tok.name,
            "sha256": sha256_file(tok.path),
            "eos_token": tok.eos_token,
            "token_size_bytes": token_size,
        },
        packed_sequences=tokens // (opts.seq_len + 1),
        read_with=(
            "datatrove.utils.dataset.DatatroveFolderDataset("
            f"FOLDER, seq_len={opts.seq_len}, token_size={token_size})"
        ),
        files=[file_entry(p, staging) for p in sorted(staging.iterdir()) if p.is_file()],
    )
    write_json_atomic(staging / "export_manifest.json", body)
