"""Resolve the tokenizer a user names into a local `tokenizer.json`, offline.

Accepted: a `tokenizer.json` file; a folder holding one (a saved Hugging Face
tokenizer); a `.gguf` model file, whose embedded tokenizer transformers
converts (the `train` extra); or `gemma`, the tokenizer inside the bundled
Gemma 3 270M GGUF. A converted GGUF tokenizer is cached beside nothing of the
user's: under ~/.cache/sdf-corpus/tokenizers/, keyed by the file's name and size.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sdf_corpus.errors import InputError
from sdf_corpus.runfolder import replace_folder, staged_folder

__all__ = ["ResolvedTokenizer", "resolve_tokenizer"]

_EOS_CANDIDATES = ("<eos>", "</s>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>")
_CHOICES = "a tokenizer.json, a folder holding one, a .gguf file, or 'gemma'"


@dataclass(frozen=True)
class ResolvedTokenizer:
    name: str  # what the user gave
    path: Path  # the tokenizer.json datatrove loads
    eos_token: str | None


def resolve_tokenizer(name: str | None) -> ResolvedTokenizer:
    if not name:
        raise InputError(f"--tokenizer: required for --format tokens (give {_CHOICES})")
    if name == "gemma":
        from sdf_corpus.generate.backends.local import default_model_path

        path = _from_gguf(default_model_path())
    else:
        given = Path(name).expanduser()
        if given.is_dir() and (given / "tokenizer.json").is_file():
            path = given / "tokenizer.json"
        elif given.is_file() and given.suffix == ".gguf":
            path = _from_gguf(given)
        elif given.is_file():
            path = given
        else:
            raise InputError(f"--tokenizer {name}: no such tokenizer (give {_CHOICES})")
    return ResolvedTokenizer(name, path, _eos(path))


def _eos(path: Path) -> str | None:
    """The end-of-document token: the saved config's, else a conventional one in the vocab."""
    config = path.with_name("tokenizer_config.json")
    if config.is_file():
        eos = json.loads(config.read_text(encoding="utf-8")).get("eos_token")
        if isinstance(eos, dict):
            eos = eos.get("content")
        if isinstance(eos, str) and eos:
            return eos
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for a bad file
        raise InputError(f"--tokenizer {path}: not a tokenizer.json ({exc})") from None
    return next((t for t in _EOS_CANDIDATES if tok.token_to_id(t) is not None), None)


def _from_gguf(gguf: Path) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sdf-corpus"
    folder = cache / "tokenizers" / f"{gguf.stem}-{gguf.stat().st_size}"
    if (folder / "tokenizer.json").is_file():
        return folder / "tokenizer.json"
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise InputError(
            f"--tokenizer {gguf}: reading a GGUF's tokenizer needs transformers and gguf "
            "(pip install 'sdf-corpus[train]'), or give a tokenizer.json"
        ) from None
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    with staged_folder(folder.parent, "tokenizer") as staging:
        tok.save_pretrained(str(staging))
        # Whole or not at all: a half-saved tokenizer is never found; if another process
        # converted the same file first, its copy is used.
        replace_folder(staging, folder, keep_existing=True)
    return folder / "tokenizer.json"
