"""The type-ahead index of one code list: which concepts a ``filter`` matches, in what order.

Contracts
---------
* A :class:`FilterIndex` is built once from the codes and displays of a code list, given
  in the list's order (sorted by code case-insensitively, see ``codesystems.py``); position
  ``i`` is concept ``i``. Immutable after construction apart from an internal cache; safe
  to share between threads.
* :meth:`FilterIndex.match` returns a :class:`Match`. A concept matches a filter when
  **every word** of the filter is a prefix of some word of its display, **or** the whole
  filter is a prefix of its code. Words are split at anything that is not a letter or a
  digit: ``smerte bryst`` matches "Smerte bryst (K)" but not "Brystsmerte IKA" (no word
  of it starts with "smerte"); ``covid-19`` matches "Covid-19".
* Word comparison ignores case and accents (``e`` = ``é``). For the Norwegian letters a
  filter word **with** æ, ø or å matches only words with those letters (``hø`` finds
  "høyre", not "hode"; ``å`` = ``aa``, so ``å`` also finds an "aa" spelling; ``ä`` = ``æ``
  and ``ö`` = ``ø``, so ``waldenstrø`` finds "Waldenströms"), while a filter
  word **without** them is compared after :func:`~fellesjournal.search.normalize.normalize_string`
  (the product's string-search folding: ``å`` → ``aa``, ``æ`` → ``ae``, ``ø`` → ``o``), so a
  user without a Norwegian keyboard finds "høyre" with ``hoyre`` and "årsak" with ``aarsak``.
* Codes are compared case-insensitively, with a dot after the third character ignored
  when the list is ``dotted`` (ICD-10: ``a00.0`` finds ``A000``).
* Order: code-prefix matches first, then the rest; each part in code order.
* A blank filter matches everything.

Why bitsets: a concept set is a Python ``int`` with bit ``i`` for concept ``i``. Union and
intersection of thousands of concepts are then single C-level operations, the total is
``int.bit_count()``, and code order is bit order. Code-prefix matches are a contiguous
range of positions, because the list is sorted by code. The set of concepts with a word
starting with a given prefix comes from a sorted vocabulary (a ``bisect`` range) and is
cached, so the short prefixes of type-ahead (``h``, ``hj``, ``hje``...) are built once.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from fellesjournal.search.normalize import normalize_string

_TOKEN = re.compile(r"[^\W_]+")
_NORDIC = frozenset("æøåäö")
# Swedish/German ä and ö are the same letters as æ and ø (Waldenström)
_NORDIC_SPELLING = str.maketrans({"ä": "æ", "ö": "ø"})
_MAX_CHAR = "\U0010ffff"
_ONE = re.compile("1")
_CACHE_SIZE = 4096  # at most ~10 MB of 2.5 KB bitsets for ICD-10


def tokens(text: str) -> list[str]:
    """The words of ``text``: runs of letters and digits, lower-cased, in order."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text.casefold()))


@lru_cache(maxsize=65536)
def folded_key(token: str) -> str:
    """A token as :func:`normalize_string` folds it (letters and digits only)."""
    return "".join(_TOKEN.findall(normalize_string(token)))


@lru_cache(maxsize=65536)
def nordic_key(token: str) -> str:
    """A token with accents dropped but æ, ø, å kept (``aa`` written ``å``, ``ö`` ``ø``)."""
    if token.isascii():
        return token.replace("aa", "å")
    out = "".join(c if c in _NORDIC else _strip_marks(c) for c in token)
    return "".join(_TOKEN.findall(out)).translate(_NORDIC_SPELLING).replace("aa", "å")


def _strip_marks(c: str) -> str:
    return "".join(d for d in unicodedata.normalize("NFKD", c) if not unicodedata.combining(d))


def _has_nordic(token: str) -> bool:
    return not token.isascii() and not _NORDIC.isdisjoint(token)


@dataclass(frozen=True, slots=True)
class Match:
    """The concepts a filter matched: positions ``code_lo..code_hi`` first, then ``rest``."""

    code_lo: int
    code_hi: int
    rest: int
    """Bitset of the other matching positions (code-prefix matches excluded)."""

    @property
    def total(self) -> int:
        return (self.code_hi - self.code_lo) + self.rest.bit_count()

    def positions(self, offset: int, count: int) -> list[int]:
        """Up to ``count`` positions from ``offset`` in the ranked order."""
        if count <= 0:
            return []
        out: list[int] = []
        n_code = self.code_hi - self.code_lo
        if offset < n_code:
            out.extend(
                range(self.code_lo + offset, min(self.code_hi, self.code_lo + offset + count))
            )
            offset = 0
        else:
            offset -= n_code
        if len(out) < count and self.rest:
            out.extend(islice(_bits(self.rest), offset, offset + count - len(out)))
        return out


def _bits(mask: int) -> Iterator[int]:
    """The set bit positions of ``mask``, ascending."""
    # bin() of a 20k-bit int and a C-level regex scan are far cheaper than popping bits
    # one at a time with Python integer arithmetic
    text = bin(mask)[:1:-1]  # least significant bit first
    return (m.start() for m in _ONE.finditer(text))


class _Vocabulary:
    """Sorted words with, per word, the positions of the concepts using it."""

    def __init__(self, postings: dict[str, list[int]]) -> None:
        self.words = sorted(postings)
        self.postings = [postings[w] for w in self.words]

    def prefix_range(self, prefix: str) -> list[list[int]]:
        lo = bisect_left(self.words, prefix)
        hi = bisect_left(self.words, prefix + _MAX_CHAR, lo)
        return self.postings[lo:hi]


class FilterIndex:
    """Filter matching over one code list (see the module docstring)."""

    def __init__(self, codes: Sequence[str], displays: Sequence[str], *, dotted: bool) -> None:
        self.size = len(codes)
        self._dotted = dotted
        self._code_keys = [c.upper() for c in codes]
        if self._code_keys != sorted(self._code_keys):
            raise ValueError("codes must be given sorted case-insensitively")
        folded: dict[str, list[int]] = {}
        nordic: dict[str, list[int]] = {}
        for pos, display in enumerate(displays):
            for token in set(tokens(display)):
                folded.setdefault(folded_key(token), []).append(pos)
                if "aa" in token or _has_nordic(token):
                    nordic.setdefault(nordic_key(token), []).append(pos)
        # a word may be reached through several tokens ("Øre", "øre"): keep postings unique
        self._folded = _Vocabulary({k: sorted(set(v)) for k, v in folded.items()})
        self._nordic = _Vocabulary({k: sorted(set(v)) for k, v in nordic.items()})
        self._all = (1 << self.size) - 1
        self._cache: dict[tuple[bool, str], int] = {}
        self._lock = threading.Lock()

    def match(self, filter_text: str | None) -> Match:
        """The concepts ``filter_text`` matches (see the module docstring)."""
        if filter_text is None or not filter_text.strip():
            return Match(0, self.size, 0)
        lo, hi = self._code_range(filter_text.strip())
        filter_tokens = tokens(filter_text)
        text = self._all if filter_tokens else 0
        for token in filter_tokens:
            if _has_nordic(token):
                text &= self._prefix_mask(True, nordic_key(token))
            else:
                text &= self._prefix_mask(False, folded_key(token))
            if not text:
                break
        if hi > lo:
            text &= ~(((1 << hi) - 1) ^ ((1 << lo) - 1))
        return Match(lo, hi, text)

    def _code_range(self, text: str) -> tuple[int, int]:
        if any(c.isspace() for c in text):
            return 0, 0
        key = text.upper()
        if self._dotted and len(key) > 3 and key[3] == ".":
            key = key[:3] + key[4:]
        lo = bisect_left(self._code_keys, key)
        hi = bisect_left(self._code_keys, key + _MAX_CHAR, lo)
        return lo, hi

    def _prefix_mask(self, nordic: bool, prefix: str) -> int:
        """The concepts with a display word starting with ``prefix`` (cached)."""
        mask = self._cache.get((nordic, prefix))
        if mask is not None:
            return mask
        vocabulary = self._nordic if nordic else self._folded
        buf = bytearray((self.size + 7) // 8)
        for postings in vocabulary.prefix_range(prefix):
            for pos in postings:
                buf[pos >> 3] |= 1 << (pos & 7)
        mask = int.from_bytes(buf, "little")
        with self._lock:
            # bounded: crude eviction is fine, a prefix is cheap to rebuild
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[(nordic, prefix)] = mask
        return mask
