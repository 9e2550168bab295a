"""``/portal/documents`` and ``/portal/documents/{id}``: the documents released to me.

Only what the access layer releases to the patient actor (``access/release.py``: the
document types shown, 24 hours after signing, never withheld ones) is listed and opened;
a document that is not released answers the same 404 as one that does not exist. Plain
text is shown as text; other content is only named.

Held-back notices ("a document from this date, of this type, is held back, and why")
come from ``service/held_back.py``: only documents withheld under a code that lets their
existence be told, never their content.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fellesjournal.portal.base import Portal, answers, page
from fellesjournal.portal.reading import (
    Resource,
    Units,
    newest_first,
    read_chart,
    read_one,
    ref_id,
    text,
    when,
)
from fellesjournal.service.held_back import held_back
from fellesjournal.service.repository import GuardedRepository

TYPES: Final = ("DocumentReference",)
#: How many documents the list shows (newest first).
LIMIT: Final = 200


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    date: str
    author: str
    unit: str
    organization: str


def _title(doc: Resource) -> str:
    for content in doc.get("content") or ():
        title = (
            (content.get("attachment") or {}).get("title") if isinstance(content, dict) else None
        )
        if title:
            return str(title)
    return text(doc.get("type")) or str(doc.get("description") or "")


def _author(doc: Resource) -> str:
    names = [
        str(a["display"])
        for a in doc.get("author") or ()
        if isinstance(a, dict) and a.get("display")
    ]
    return ", ".join(names)


def summary(doc: Resource, units: Units) -> Document:
    unit, organization = units.of(doc.get("custodian"))
    return Document(
        id=str(doc.get("id") or ""),
        title=_title(doc),
        date=when(doc, "date"),
        author=_author(doc),
        unit=unit,
        organization=organization,
    )


def document_text(doc: Resource) -> str | None:
    """The document's plain text (the first ``text/plain`` attachment), else None."""
    for content in doc.get("content") or ():
        attachment = content.get("attachment") if isinstance(content, dict) else None
        if not isinstance(attachment, dict):
            continue
        kind = str(attachment.get("contentType") or "")
        if not kind.startswith("text/plain") or not attachment.get("data"):
            continue
        try:
            return base64.b64decode(str(attachment["data"]), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def _unit_ids(docs: list[Resource]) -> list[str]:
    return [u for d in docs if (u := ref_id(d.get("custodian"), "Organization")) is not None]


def list_documents(repo: GuardedRepository, patient_id: str) -> list[Document]:
    _patient, found = read_chart(repo, patient_id, TYPES, f"portal/documents/{patient_id}")
    docs = newest_first(found["DocumentReference"], "date")[:LIMIT]
    units = Units(repo)
    units.prepare(_unit_ids(docs))
    return [summary(d, units) for d in docs]


def routes(portal: Portal) -> list[BaseRoute]:
    @answers
    async def documents(request: Request) -> Response:
        repo, patient_id = portal.page_repository(request, "read")
        return page(
            request,
            "portal/documents.html",
            documents=list_documents(repo, patient_id),
            notices=held_back(repo),
        )

    @answers
    async def document(request: Request) -> Response:
        repo = portal.repository(request)
        portal.require(request, "read")
        doc = read_one(repo, "DocumentReference", str(request.path_params["doc_id"]))
        units = Units(repo)
        units.prepare(_unit_ids([doc]))
        return page(
            request, "portal/document.html", document=summary(doc, units), body=document_text(doc)
        )

    return [
        Route("/portal/documents", documents),
        Route("/portal/documents/{doc_id}", document),
    ]
