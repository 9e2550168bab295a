"""Outgoing messages: every letter and message is a Communication, sent through the outbox.

A Communication with ``status`` ``in-progress`` or ``completed`` and one or more
``recipient`` (Organization units or the Patient) is *sent*: writing it puts one outbox
row per recipient in the same transaction (:func:`on_communication`). ``category`` says
which message it is (:data:`KIND_SYSTEM`, one of :data:`KINDS`: the PLO messages, the
basismeldinger, letters to the patient), ``sender`` the sending unit, ``subject`` the
patient, ``about`` what it concerns (a ServiceRequest, an Encounter, a Composition), and
``payload`` the content (text, or a reference to the Composition it carries).

A Communication in ``preparation`` is a draft and sends nothing. Re-writing a sent
Communication does not send it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from fellesjournal.workflows.reactions import Change, Effects

Resource = dict[str, Any]

KIND_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/message-kind"

#: Message kinds (Communication.category) with their Norwegian names (domain.md §1.11).
KINDS: Final[dict[str, str]] = {
    "henvisning": "Henvisning",
    "vurderingsbrev": "Svar på henvisning (vurdering)",
    "innkalling": "Innkalling til time",
    "epikrise": "Epikrise",
    "innleggelsesrapport": "Innleggelsesrapport",
    "melding-om-innlagt-pasient": "Melding om innlagt pasient",
    "helseopplysninger": "Helseopplysninger",
    "foresporsel": "Forespørsel",
    "svar-pa-foresporsel": "Svar på forespørsel",
    "utskrivningsklar": "Melding om utskrivningsklar pasient",
    "avmelding-utskrivningsklar": "Avmelding av utskrivningsklar pasient",
    "svar-utskrivningsklar": "Svar på melding om utskrivningsklar pasient",
    "utskrivningsrapport": "Utskrivningsrapport",
    "utskrevet": "Melding om utskrevet pasient",
    "dialogmelding": "Dialogmelding",
    "pasientmelding": "Melding fra pasient",
    "timeforesporsel": "Ønske om ny time",
    "avbestilling": "Avbestilling av time",
}

SENT_STATUSES: Final = frozenset({"in-progress", "completed"})


def kind_of(communication: Resource) -> str | None:
    for concept in communication.get("category") or ():
        for coding in concept.get("coding") or ():
            if coding.get("system") == KIND_SYSTEM:
                return str(coding.get("code"))
    return None


def communication(
    kind: str,
    *,
    sender: str,
    recipients: list[str],
    patient: str | None,
    sent: str,
    about: list[str] | None = None,
    text: str | None = None,
    content_reference: str | None = None,
    in_response_to: str | None = None,
) -> Resource:
    """A Communication that sends ``kind`` from ``sender`` to ``recipients`` (references
    as ``Type/id``); ``text`` and/or ``content_reference`` make the payload."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    resource: Resource = {
        "resourceType": "Communication",
        "status": "in-progress",
        "category": [{"coding": [{"system": KIND_SYSTEM, "code": kind, "display": KINDS[kind]}]}],
        "sent": sent,
        "sender": {"reference": sender},
        "recipient": [{"reference": r} for r in recipients],
    }
    if patient:
        resource["subject"] = {"reference": patient}
    if about:
        resource["about"] = [{"reference": a} for a in about]
    if in_response_to:
        resource["inResponseTo"] = [{"reference": in_response_to}]
    payload: list[Resource] = []
    if text:
        payload.append({"contentString": text})
    if content_reference:
        payload.append({"contentReference": {"reference": content_reference}})
    if payload:
        resource["payload"] = payload
    return resource


def _refs(items: Any) -> list[str]:
    out = []
    for item in items or ():
        ref = item.get("reference") if isinstance(item, dict) else None
        if isinstance(ref, str) and ref:
            out.append(ref)
    return out


def on_communication(fx: Effects, change: Change) -> None:
    """A Communication that became sent: one outbox row per recipient."""
    new = change.resource
    if new is None or new.get("status") not in SENT_STATUSES:
        return
    old = change.previous
    if old is not None and old.get("status") in SENT_STATUSES:
        return  # already sent; re-writing it does not send it again
    recipients = _refs(new.get("recipient"))
    if not recipients:
        return
    sender = (new.get("sender") or {}).get("reference")
    if not isinstance(sender, str) or not sender:
        sender = fx.sender_unit()
    kind = kind_of(new) or "dialogmelding"
    patient = (new.get("subject") or {}).get("reference")
    focus = f"Communication/{change.stored.res_id}/_history/{change.stored.version}"
    for recipient in recipients:
        fx.enqueue(
            kind=kind,
            sender=sender,
            recipient=recipient,
            patient=patient if isinstance(patient, str) else None,
            focus=focus,
        )
