"""What the semantic step compares: per text, a name-insensitive vector and its word set.

A retelling changes the names and the word order and keeps what happens. So a text's
vector is built from its words with the names left out: a capitalised word that the text
never writes in lower case and uses at least once in mid-sentence (Tamsin, Okafor, Dana)
is a name; a capitalised word only ever seen at the start of a sentence (The, When) is
not. Each remaining word counts `1 + log(count)` times, so a word repeated through a text
(the narrator's pronoun, a recurring noun) does not outweigh the rest; its row is the
static model's mean token row (`Embedder.word_vectors`), looked up once per distinct word
of a chunk. The word set (the same words, as 32-bit hashes) is the second signal: the
step merges two texts only when both agree (docs/clean.md).

The words are the filters' words (`filters.base.words`: lower-cased letters, one inner
apostrophe kept) and they are not found again: the stop-word, loop and repetition filters
have numbered them for the chunk (`filters.chunk.word_chunk` hands back a selection of that
chunk for the documents they kept). A dotted token (U.S., e.g., clean.md, example.com) is
left out: its pieces are not words of the prose and would be common ones. What the
filters' words lack, their case and where sentences end, is read from one array of
character classes of the original texts at the same word positions (`_classes`: a byte
per character, from a 256-entry table for ASCII texts, from a per-code-point table for the
others). Every later step is over the whole chunk: the (text, word) keys are counted in
one table, numbered so that each text's words come out in the order of their hashes (its
word set is then sorted already), and one sparse-times-dense product (dense when the chunk
has few distinct words) builds every vector.

The first implementation tokenised the texts a second time (another Arrow dictionary
encoding, a Python call per distinct token) and glued a paragraph's last word to the next
one's first (`evening.\n\nHowever` was one word); it is kept as the baseline of
`benchmarks/bench_semantic.py --features`, which measured this one 2.2-2.9x faster.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from threadpoolctl import ThreadpoolController

from sdf_corpus.clean.filters.chunk import WordChunk, word_chunk
from sdf_corpus.embed import Embedder

__all__ = ["F32", "content_features"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]

# Character classes. A word is a run of letters (classes from _LOWER up), two runs joined
# by one apostrophe as `filters.base.words` joins them.
_OTHER, _END, _DOT, _APOS, _LOWER, _UPPER, _UNCASED = range(7)
_SENTENCE_ENDS = "!?;\n"  # and the dots: ".:" end sentences, and join dotted tokens
_LETTER = re.compile(r"[^\W\d_]")  # the filters' letters (`filters.base._WORD`)
_DENSE_KEYS = 4  # key space per word position up to which every key gets a counter
_TABLE_KEYS = 1 << 23  # key space up to which the keys present are found in a table
_DENSE_FILL = 8  # (texts x used words) per (text, word) up to which vectors use BLAS


def _class_of(c: str) -> int:
    if _LETTER.match(c):
        if c.isupper():
            return _UPPER
        return _LOWER if c.islower() or c.istitle() else _UNCASED  # cased but not upper
    if c in ".:":
        return _DOT
    if c in _SENTENCE_ENDS:
        return _END
    return _APOS if c == "'" else _OTHER


_ASCII = bytes(_class_of(chr(b)) if b < 0x80 else _OTHER for b in range(256))


@functools.cache
def _unicode_classes() -> U8:
    """The class of every code point, built once per process (~0.2 s), when the first
    text that is not ASCII comes."""
    everything = "".join(map(chr, range(0x110000)))
    table = np.frombuffer(everything[:0x80].encode("ascii").translate(_ASCII), np.uint8)
    table = np.concatenate([table, np.zeros(0x110000 - 0x80, np.uint8)])
    for m in re.finditer(r"[^\W\d_]+", everything[0x80:]):
        for i, c in enumerate(m.group(), start=0x80 + m.start()):
            table[i] = _class_of(c)
    return table


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # finding the BLAS libraries once per process


def content_features(texts: Sequence[str], embedder: Embedder) -> tuple[F32, list[bytes]]:
    """Per text: its unit vector (zeros if it has no words) and its distinct words'
    hashes (uint32 bytes, sorted), names left out of both."""
    n = len(texts)
    vectors = np.zeros((n, embedder.dim), dtype=np.float32)
    if n == 0:
        return vectors, []
    chunk = word_chunk(texts)
    if chunk.ids.size == 0:
        return vectors, [b""] * n
    marked = _positions(texts, chunk)
    # Words numbered in the order of their hashes: a text's distinct words then come
    # out of the counting below with their hashes sorted, as its word set needs.
    hashes = (chunk.vocab_hashes() & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    by_hash = np.argsort(hashes, kind="stable")
    rank = np.empty_like(by_hash)
    rank[by_hash] = np.arange(by_hash.size)
    width = by_hash.size
    base = np.repeat(np.arange(0, n * width, width, dtype=np.int64), chunk.counts)
    keys, counts = _text_words(base + rank[chunk.ids], n * width, marked)
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // width, minlength=n), out=bounds[1:])
    weights = (1.0 + np.log(counts)).astype(np.float32)
    _add_rows(vectors, keys, weights, bounds, _Ranked(chunk.vocab.words, by_hash), embedder)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    flat = hashes[by_hash[keys % width]].tobytes()
    at = (bounds * 4).tolist()
    return vectors, [flat[lo:hi] for lo, hi in itertools.pairwise(at)]


@dataclass(frozen=True)
class _Ranked:
    """The chunk's words numbered in the order of their hashes: word `by_hash[r]` of
    `words` has rank r."""

    words: list[str]
    by_hash: I64

    def __getitem__(self, ranks: I64) -> list[str]:
        return [self.words[i] for i in self.by_hash[ranks].tolist()]


def _add_rows(
    out: F32, keys: I64, weights: F32, bounds: I64, ranked: _Ranked, embedder: Embedder
) -> None:
    """out[row] = the sum of weight x model row of each key's word (key: row x width +
    the word's rank): one dense BLAS product when the chunk has few distinct words, else
    one sparse product over the words the texts use."""
    n, width = out.shape[0], ranked.by_hash.size
    if n * width <= _DENSE_FILL * keys.size:
        dense = np.zeros(n * width, dtype=np.float32)
        dense[keys] = weights
        table = embedder.word_vectors(ranked[np.arange(width)])
        # One BLAS thread: the clean workers already fill every core, and OpenBLAS's
        # own threads on a busy machine made this product 6x slower.
        with _blas().limit(limits=1, user_api="blas"):
            np.matmul(dense.reshape(n, width), table, out=out)
        return
    ranks = keys % width
    used = np.zeros(width, dtype=bool)
    used[ranks] = True
    used_ranks = np.flatnonzero(used)
    column = np.cumsum(used) - 1  # word index -> its column among the used words
    table = embedder.word_vectors(ranked[used_ranks])
    product = sparse.csr_array((weights, column[ranks], bounds), shape=(n, used_ranks.size))
    out[:] = product @ table


def _text_words(key: I64, space: int, marked: _Marked) -> tuple[I64, I64]:
    """The distinct keys (text x width + word) in order and their counts, dotted words
    and names left out: a name is a word the text never writes uncapitalised, and
    capitalised at least once in mid-sentence. Counted in a table of the whole key
    space when it is small (few distinct words), else of the keys present (numpy's
    sort, as np.unique would use, is the slow way)."""
    slot: npt.NDArray[np.integer[Any]]
    keys: I64 | None = None  # None: every key has a counter (keys[i] == i)
    if space <= _DENSE_KEYS * key.size:
        slot = key
    elif space > _TABLE_KEYS:  # a chunk of very many distinct words: bounded memory
        keys, slot = np.unique(key, return_inverse=True)
    else:
        seen = np.zeros(space, dtype=bool)
        seen[key] = True
        keys = np.flatnonzero(seen)
        index = np.empty(space, dtype=np.int32)  # only the keys' cells are written and read
        index[keys] = np.arange(keys.size, dtype=np.int32)
        slot = index[key]
    counts = np.bincount(slot, minlength=space if keys is None else keys.size)
    if marked.dotted.size:
        np.subtract.at(counts, slot[marked.dotted], 1)
    if marked.mid.size:
        capitalised = np.bincount(slot[marked.capitalised], minlength=counts.size)
        name = slot[marked.mid]
        counts[name[capitalised[name] == counts[name]]] = 0  # every use capitalised
    present = np.flatnonzero(counts)
    return (present if keys is None else keys[present]), counts[present]


@dataclass(frozen=True)
class _Marked:
    """Word positions of a chunk (ascending): the capitalised ones (first letter upper
    case, not all upper case: MRI is not), those of them in mid-sentence (not opening a
    text nor following a sentence end), and those of a dotted token (U.S., e.g.,
    clean.md, example.com: not words of the prose, and their pieces would be common
    ones). Capitalised and mid hold no dotted position."""

    capitalised: I64
    mid: I64
    dotted: I64


def _positions(texts: Sequence[str], chunk: WordChunk) -> _Marked:
    """The chunk's marked word positions, read from the texts' character classes."""
    classes, firsts = _classes(texts)
    starts, ends = _word_spans(classes)
    offsets = np.searchsorted(starts, firsts)
    marks = np.flatnonzero((classes == _END) | (classes == _DOT))
    dots = marks[classes[marks] == _DOT]
    # a dot with a letter on each side: the words it joins are dotted
    dots = dots[(classes[dots - 1] >= _LOWER) & (classes[dots + 1] >= _LOWER)]
    dotted = np.union1d(np.searchsorted(ends, dots), np.searchsorted(starts, dots + 1))
    capitalised = _capitalised(classes, starts, ends)
    if dotted.size:
        capitalised = np.setdiff1d(capitalised, dotted, assume_unique=True)
    mid = capitalised[~_initial(marks, starts, ends, offsets, capitalised)]
    mine, theirs = np.diff(offsets), chunk.counts
    if np.array_equal(mine, theirs):
        return _Marked(capitalised, mid, dotted)
    # A text whose lower-casing changes its words (a Turkish dotted I becomes two
    # characters): its words are counted, but none is taken for a name or dotted.
    same = mine == theirs
    shift = chunk.offsets[:-1] - offsets[:-1]

    def moved(at: I64) -> I64:
        text = np.searchsorted(offsets, at, side="right") - 1
        keep = same[text]
        out: I64 = at[keep] + shift[text[keep]]
        return out

    return _Marked(moved(capitalised), moved(mid), moved(dotted))


def _initial(marks: I64, starts: I64, ends: I64, offsets: I64, at: I64) -> Bool:
    """Whether each word `at` opens its text or has a sentence end (`marks`) between it
    and the word before."""
    before = np.where(at > 0, ends[at - 1], 0)
    initial = np.searchsorted(marks, starts[at]) > np.searchsorted(marks, before)
    first = np.zeros(starts.size + 1, dtype=bool)
    first[offsets] = True  # a text's first word (or, for a text without words, the next's)
    initial |= first[at]
    return initial


def _classes(texts: Sequence[str]) -> tuple[U8, I64]:
    """The class of every character of the texts laid end to end (one _OTHER between
    two texts), and where each text starts (then the end)."""
    pieces = [
        t.encode("ascii").translate(_ASCII)
        if t.isascii()
        else _unicode_classes()[
            np.frombuffer(t.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        ].tobytes()
        for t in texts
    ]
    firsts = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, pieces), np.int64, len(pieces)) + 1, out=firsts[1:])
    return np.frombuffer(b"\0".join([*pieces, b"\0"]), dtype=np.uint8), firsts


def _word_spans(classes: U8) -> tuple[I64, I64]:
    """Where each word starts and ends: runs of letters, two runs with one apostrophe
    between them one word, as the filters' pattern pairs them (rock'n'roll: rock'n, roll)."""
    letter = np.zeros(classes.size + 2, dtype=bool)
    np.greater_equal(classes, _LOWER, out=letter[1:-1])
    edges = np.flatnonzero(letter[1:] != letter[:-1])
    starts, ends = edges[::2], edges[1::2]
    if starts.size < 2:
        return starts, ends
    joined = (starts[1:] - ends[:-1] == 1) & (classes[ends[:-1]] == _APOS)
    if not joined.any():
        return starts, ends
    # In a chain of runs joined by apostrophes, runs 0-1, 2-3, ... pair up.
    index = np.arange(starts.size)
    after_join = np.zeros(starts.size, dtype=bool)
    after_join[1:] = joined
    chain_start = np.maximum.accumulate(np.where(after_join, 0, index))
    opens = (index - chain_start) % 2 == 0
    takes_next = np.zeros(starts.size, dtype=bool)
    takes_next[:-1] = joined
    takes_next &= opens
    word_ends = np.where(takes_next, ends[np.minimum(index + 1, starts.size - 1)], ends)
    return starts[opens], word_ends[opens]


def _capitalised(classes: U8, starts: I64, ends: I64) -> I64:
    """The words whose first letter is upper case and some letter is not. Almost every
    such word shows it in its second character; the others (I, MRI, O'Brien) are
    checked whole."""
    upper = np.flatnonzero(classes[starts] == _UPPER)
    second = classes[starts[upper] + 1] == _LOWER  # the texts end with two _OTHER
    rest = upper[~second & (ends[upper] - starts[upper] > 1)]
    if rest.size:
        lens = ends[rest] - starts[rest]
        begin = np.zeros(rest.size, dtype=np.int64)
        np.cumsum(lens[:-1], out=begin[1:])
        inside = np.arange(int(lens.sum())) - np.repeat(begin - starts[rest], lens)
        second[np.searchsorted(upper, rest)] = np.logical_or.reduceat(
            classes[inside] == _LOWER, begin
        )
    capitalised: I64 = upper[second]
    return capitalised
