"""Keyword search over open jobs (关键字查找): a CJK character-bigram inverted index.

Owns: `KeywordIndex` (job row -> text tokens -> rows) and `tokens`, the tokenizer.

Tokenizing (documents and queries alike): NFKC (full-width letters and digits become
ASCII) and lower case; runs of CJK ideographs give their character bigrams ("搬家工" ->
"搬家", "家工"), runs of ASCII letters/digits give whole words ("3", "ktv"); anything
else separates runs. Documents also index every CJK character alone, so a query that is a
single CJK character ("搬") matches by unigram.

Query semantics: every token of the query must be present (AND); a multi-character CJK
run is searched by its bigrams only. Results are job rows ascending; the distance, skill
and pay filters are the caller's (run `kernels.rank_jobs` over the hits).

Invariants: deterministic (results sorted; sets are never iterated into an ordering);
`remove` forgets every token of a row.

Limits: queries longer than `MAX_QUERY_CHARS` (after normalising) raise ValueError; only
the first `MAX_DOC_CHARS` characters of a document are indexed.
"""

from __future__ import annotations

import unicodedata

import numpy as np

MAX_QUERY_CHARS = 32
MAX_DOC_CHARS = 512
_EMPTY = np.empty(0, dtype=np.int64)


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3134F
        or cp == 0x3007  # 〇
    )


def _runs(text: str) -> list[tuple[bool, str]]:
    """(is_cjk, run) pairs of the normalised text."""
    text = unicodedata.normalize("NFKC", text).lower()
    runs: list[tuple[bool, str]] = []
    kind: bool | None = None
    start = 0
    for i, ch in enumerate(text + " "):
        if _is_cjk(ch):
            this: bool | None = True
        elif ch.isascii() and ch.isalnum():
            this = False
        else:
            this = None
        if this != kind:
            if kind is not None:
                runs.append((kind, text[start:i]))
            kind, start = this, i
    return runs


def tokens(text: str, *, query: bool = False) -> list[str]:
    """Tokens of `text` in order of appearance, without duplicates."""
    out: dict[str, None] = {}
    for cjk, run in _runs(text):
        if not cjk:
            out[run] = None
            continue
        if not query:
            for ch in run:
                out[ch] = None
        elif len(run) == 1:
            out[run] = None
        for i in range(len(run) - 1):
            out[run[i : i + 2]] = None
    return list(out)


class KeywordIndex:
    """Inverted index: token -> set of job rows."""

    def __init__(self) -> None:
        self._postings: dict[str, set[int]] = {}
        self._doc_tokens: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return len(self._doc_tokens)

    def __contains__(self, row: int) -> bool:
        return row in self._doc_tokens

    def add(self, job_row: int, text: str) -> None:
        if job_row in self._doc_tokens:
            raise ValueError(f"job row {job_row} is already indexed")
        toks = tokens(text[:MAX_DOC_CHARS])
        self._doc_tokens[job_row] = toks
        for tok in toks:
            self._postings.setdefault(tok, set()).add(job_row)

    def remove(self, job_row: int) -> None:
        for tok in self._doc_tokens.pop(job_row):
            rows = self._postings[tok]
            rows.discard(job_row)
            if not rows:
                del self._postings[tok]

    def discard(self, job_row: int) -> bool:
        if job_row in self._doc_tokens:
            self.remove(job_row)
            return True
        return False

    def query(self, text: str) -> np.ndarray:
        """Rows (int64, ascending) containing every token of `text`; empty for no tokens."""
        if len(unicodedata.normalize("NFKC", text)) > MAX_QUERY_CHARS:
            raise ValueError(f"query longer than {MAX_QUERY_CHARS} characters")
        toks = tokens(text, query=True)
        if not toks:
            return _EMPTY
        postings = []
        for tok in toks:
            rows = self._postings.get(tok)
            if not rows:
                return _EMPTY
            postings.append(rows)
        postings.sort(key=len)
        hits = set(postings[0])
        for rows in postings[1:]:
            hits &= rows
            if not hits:
                return _EMPTY
        return np.array(sorted(hits), dtype=np.int64)
