"""The documents held back from a citizen that the portal may say exist.

Withheld documents are invisible to a citizen (``access/release.py``). Under some Volven
9603 codes (the patient's own wish, older than electronic access, delayed access) the
portal says that a document is held back: its date, its type and why, never its content.
:func:`held_back` answers that, for the record the citizen acts on, and nothing for
anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from fellesjournal.access import release
from fellesjournal.access.proxy import capabilities
from fellesjournal.fhir import jsonio
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store import schema


@dataclass(frozen=True, slots=True)
class HeldBack:
    """One held-back document: when, what type, and the withholding code and reason."""

    date: str
    title: str
    code: str
    reason: str


def held_back(repo: GuardedRepository) -> list[HeldBack]:
    """The held-back notices of the citizen's record, newest first (empty for others)."""
    citizen = repo.ctx.actor.citizen
    if citizen is None or "read" not in capabilities(citizen):
        return []
    table = schema.resources
    with repo.reading() as tx:
        rows = tx.execute(
            sa.select(table.c.content).where(release.held_back_clause(table, citizen))
        ).all()
    out = []
    for (content,) in rows:
        doc = jsonio.loads(content) if content else {}
        if not isinstance(doc, dict):
            continue
        codes = [
            str(s.get("code"))
            for s in (doc.get("meta") or {}).get("security") or ()
            if s.get("system") == release.WITHHOLD_SYSTEM and s.get("code") in release.REVEALED
        ]
        doc_type = doc.get("type") or {}
        title = str(
            doc_type.get("text")
            or next(
                (c.get("display") for c in doc_type.get("coding") or () if c.get("display")), ""
            )
            or doc.get("title")
            or "Dokument"
        )
        code = codes[0] if codes else ""
        out.append(
            HeldBack(str(doc.get("date") or ""), title, code, release.WITHHOLD_CODES.get(code, ""))
        )
    return sorted(out, key=lambda h: h.date, reverse=True)
