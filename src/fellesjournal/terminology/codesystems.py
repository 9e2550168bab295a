"""Loading the packaged code lists, once per process.

Contracts
---------
* :func:`loaded` returns the :class:`LoadedCodeSystem` of a known system, reading and
  indexing its list on first use only (tens of milliseconds for ICD-10-NO) and caching it
  for the life of the process. Thread-safe: concurrent first calls load once.
* The lists are read from ``terminology/data/`` inside the package (see README.md there),
  never from elsewhere.
* Concepts are held sorted by code (case-insensitively), which is the order of every
  expansion and what :class:`~fellesjournal.terminology.index.FilterIndex` relies on.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from importlib import resources

import orjson

from fellesjournal.terminology.index import FilterIndex
from fellesjournal.terminology.systems import SystemInfo


@dataclass(frozen=True, slots=True)
class Concept:
    """One code of a code system, with its (Norwegian) display."""

    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class LoadedCodeSystem:
    info: SystemInfo
    concepts: tuple[Concept, ...]
    """Sorted by code; position ``i`` is position ``i`` of :attr:`index`."""
    by_code: dict[str, Concept]
    index: FilterIndex


_loaded: dict[str, LoadedCodeSystem] = {}
_lock = threading.Lock()


def loaded(info: SystemInfo) -> LoadedCodeSystem:
    """The code list of ``info``, loaded and indexed on first use (see module docstring)."""
    cs = _loaded.get(info.url)
    if cs is not None:
        return cs
    with _lock:
        cs = _loaded.get(info.url)
        if cs is None:
            cs = _load(info)
            _loaded[info.url] = cs
    return cs


def _load(info: SystemInfo) -> LoadedCodeSystem:
    raw = resources.files("fellesjournal.terminology").joinpath("data", info.data_file)
    rows = orjson.loads(gzip.decompress(raw.read_bytes()))
    concepts = sorted(
        (Concept(info.url, row["code"], row["text"]) for row in rows),
        key=lambda c: (c.code.upper(), c.code),
    )
    by_code = {c.code: c for c in concepts}
    if len(by_code) != len(concepts):
        raise ValueError(f"duplicate codes in {info.data_file}")
    index = FilterIndex(
        [c.code for c in concepts], [c.display for c in concepts], dotted=info.dotted
    )
    return LoadedCodeSystem(info, tuple(concepts), by_code, index)
