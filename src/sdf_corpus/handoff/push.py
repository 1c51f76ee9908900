"""`sdf-corpus push`: a run folder to a Hugging Face dataset repo, through huggingface_hub.

What goes up is what a dataset user needs: the card (README.md, written if the
run has none), the shards, manifest.json, clean_stats.json and the report; or,
given an `export --format hf` folder, its card, data/ and export manifest.
The ledger (prompts, costs) and rejected/ stay local. The token is read from
HF_TOKEN and handed to huggingface_hub for this call only: it is never saved
(no `login`), printed, or written into any file; HF_ENDPOINT is honoured.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sdf_corpus.errors import InputError, KeyMissingError, SdfError
from sdf_corpus.handoff.card import write_run_card
from sdf_corpus.runfolder import RunFolder
from sdf_corpus.runfolder.paths import CARD, CLEAN_STATS, MANIFEST, REPORT_HTML, REPORT_JSON

__all__ = ["PushResult", "files_to_push", "push_run"]

_TOP_FILES = (CARD, MANIFEST, CLEAN_STATS, REPORT_JSON, REPORT_HTML)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    files: list[tuple[str, int]]  # (path in repo, bytes)
    url: str | None  # the commit, or None on a dry run


def files_to_push(run_dir: Path) -> list[Path]:
    if _is_hf_export(run_dir):  # `export --format hf`: its card already lists per-genre configs
        data = sorted((run_dir / "data").rglob("*.parquet"))
        return [run_dir / "README.md", run_dir / "export_manifest.json", *data]
    shards = RunFolder(run_dir).require_shards()
    return [run_dir / n for n in _TOP_FILES if (run_dir / n).is_file()] + shards


def _is_hf_export(folder: Path) -> bool:
    return (folder / "export_manifest.json").is_file() and (folder / "data").is_dir()


def push_run(
    run_dir: Path, repo_id: str, *, private: bool = False, dry_run: bool = False
) -> PushResult:
    run = RunFolder(run_dir)
    run_dir = run.root
    if not _REPO_ID.match(repo_id):
        raise InputError(f"REPO_ID {repo_id!r}: write it as NAMESPACE/NAME, e.g. my-org/sdf-advice")
    if not _is_hf_export(run_dir):
        run.require_shards()  # fail first when there is nothing to push
    if not run.card.is_file() and not dry_run:
        write_run_card(run_dir, run.require_shards())
    files = files_to_push(run_dir)
    listing = [(p.relative_to(run_dir).as_posix(), p.stat().st_size) for p in files]
    if dry_run:
        if not run.card.is_file():
            listing.insert(0, (CARD, 0))  # generated at push time
        return PushResult(repo_id, listing, None)
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise KeyMissingError(
            "push: HF_TOKEN is not set; create a write token at huggingface.co/settings/tokens "
            "and export HF_TOKEN=... (it is never written anywhere)"
        )
    return PushResult(repo_id, listing, _upload(run_dir, repo_id, files, private, token))


def _upload(run_dir: Path, repo_id: str, files: list[Path], private: bool, token: str) -> str:
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
    operations = [
        CommitOperationAdd(path_in_repo=p.relative_to(run_dir).as_posix(), path_or_fileobj=str(p))
        for p in files
    ]
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        info = api.create_commit(
            repo_id,
            operations,
            commit_message=f"sdf-corpus: {run_dir.resolve().name}",
            repo_type="dataset",
        )
    except HfHubHTTPError as exc:
        message = str(exc).replace(token, "***").splitlines()[0]
        raise SdfError(f"push to {repo_id}: the Hub refused ({message})") from None
    return str(info.commit_url)
