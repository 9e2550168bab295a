"""What a citizen (or someone acting for them) may write, checked on every write.

The type-level rule (``policy.decide``) lets a patient actor write only the types of
:data:`CAPABILITY`, each with its capability (``access/proxy.py``). This module checks
the content (docs/portal.md, "What the citizen writes"), before the write, in the
repository's transaction: anything else is refused with 422 and nothing is written.

* **Communication**: a new message of a kind in :data:`SENDABLE_KINDS`, about the
  patient, from the patient (or the proxy's RelatedPerson), to one or more units.
* **Appointment**: only cancelling one's own booked (or proposed, pending) appointment,
  changing nothing but ``status`` and ``cancelationReason``.
* **Consent**: a block (sperring) of the patient's own record; a break-the-glass grant
  is refused earlier, by the repository.
* **RelatedPerson**: a fullmakt granted by the citizen themselves (16 or older) to
  someone else who is 18 or older; a parent's representation is not theirs to change.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any, Final

from fellesjournal.access import consents, proxy
from fellesjournal.access.context import CitizenContext
from fellesjournal.fhir.errors import error
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM, birth_date, classify

Resource = Mapping[str, Any]

#: The types a patient actor writes, with the capability each needs.
CAPABILITY: Final[dict[str, str]] = {
    "Communication": "act",
    "Appointment": "act",
    "Consent": "blocks",
    "RelatedPerson": "proxies",
}
SENDABLE_KINDS: Final = frozenset({"pasientmelding", "timeforesporsel", "avbestilling"})
CANCELLABLE: Final = frozenset({"proposed", "pending", "booked"})
CANCELLATION_REASON: Final = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
#: The fields a cancellation may change (``meta`` is compared without the server's
#: ``versionId`` and ``lastUpdated``: a citizen does not change labels or tags).
_CANCEL_FIELDS: Final = frozenset({"status", "cancelationReason"})
_SERVER_META: Final = frozenset({"versionId", "lastUpdated"})
#: The age from which a citizen grants a fullmakt.
GRANTOR_MIN_AGE: Final = 16


def _refuse(reason: str, expression: str | None = None) -> Exception:
    return error(422, "business-rule", reason, expression)


def _ref(value: Any) -> str:
    return str((value or {}).get("reference") or "") if isinstance(value, Mapping) else ""


#: The record a reference's resource belongs to (None: no patient's, or not stored).
PatientOf = Callable[[str], str | None]


def check(
    citizen: CitizenContext,
    res_type: str,
    resource: Resource | None,
    before: Resource | None,
    today: datetime.date,
    *,
    treating: Callable[[], set[str]] = set,
    patient_of: PatientOf = lambda _ref: None,
) -> None:
    """Raise 422 unless the patient actor ``citizen`` may write ``resource`` over
    ``before`` (None: a create). ``resource`` None is a delete: never theirs to do.

    ``treating()`` gives the units that treat the patient (``access/treating.py``), the
    only ones a message may go to; ``patient_of(ref)`` the record a referenced resource
    belongs to, so that a message refers to nothing in another patient's record."""
    if resource is None:
        raise error(403, "forbidden", "citizens do not delete anything in the record")
    if res_type == "Communication":
        _message(citizen, resource, before)
        _message_links(citizen, resource, treating, patient_of)
    elif res_type == "Appointment":
        _cancellation(citizen, resource, before)
    elif res_type == "Consent":
        _block(citizen, resource, before)
    elif res_type == "RelatedPerson":
        _fullmakt(citizen, resource, before, today)
    else:
        raise error(403, "forbidden", f"citizens do not write {res_type}")


def _message(citizen: CitizenContext, message: Resource, before: Resource | None) -> None:
    if before is not None:
        raise _refuse("a sent message is not changed; send a new one")
    from fellesjournal.workflows.messages import kind_of

    kind = kind_of(dict(message))
    if kind not in SENDABLE_KINDS:
        raise _refuse(
            f"a citizen sends only {', '.join(sorted(SENDABLE_KINDS))}", "Communication.category"
        )
    patient = f"Patient/{citizen.patient_id}"
    if _ref(message.get("subject")) != patient:
        raise _refuse(f"the message must be about {patient}", "Communication.subject")
    sender = (
        patient if citizen.proxy is None else f"RelatedPerson/{citizen.proxy.related_person_id}"
    )
    if _ref(message.get("sender")) != sender:
        raise _refuse(f"the sender must be {sender}", "Communication.sender")
    recipients = [_ref(r) for r in message.get("recipient") or ()]
    if not recipients or not all(r.startswith("Organization/") for r in recipients):
        raise _refuse(
            "a message goes to one or more units (Organization)", "Communication.recipient"
        )
    if message.get("status") not in ("in-progress", "completed"):
        raise _refuse("a message is sent: status in-progress or completed", "Communication.status")


def _message_links(
    citizen: CitizenContext,
    message: Resource,
    treating: Callable[[], set[str]],
    patient_of: PatientOf,
) -> None:
    units = treating()
    for recipient in (_ref(r) for r in message.get("recipient") or ()):
        if recipient not in units:
            raise _refuse(
                f"{recipient} does not treat the patient: write to a unit that does",
                "Communication.recipient",
            )
    links = [
        *(_ref(a) for a in message.get("about") or ()),
        *(_ref(r) for r in message.get("inResponseTo") or ()),
        *(
            _ref(p.get("contentReference"))
            for p in message.get("payload") or ()
            if isinstance(p, Mapping)
        ),
    ]
    for link in links:
        if link.count("/") == 1:
            owner = patient_of(link)
            if owner is not None and owner != citizen.patient_id:
                raise _refuse(f"{link} is not in the patient's record", "Communication")


def _cancellation(citizen: CitizenContext, new: Resource, before: Resource | None) -> None:
    if before is None:
        raise _refuse("citizens ask for a time with a message; they do not book one")
    if before.get("status") not in CANCELLABLE or new.get("status") != "cancelled":
        raise _refuse("only a booked appointment can be cancelled", "Appointment.status")
    changed = {
        key
        for key in set(before) | set(new)
        if key not in _CANCEL_FIELDS and _compared(before, key) != _compared(new, key)
    }
    if changed:
        raise _refuse(
            f"cancelling changes only the status, not {', '.join(sorted(changed))}", "Appointment"
        )
    reason = new.get("cancelationReason") or {}
    codes = {
        (c.get("system"), c.get("code")) for c in reason.get("coding") or () if isinstance(c, dict)
    }
    if (CANCELLATION_REASON, "pat") not in codes:
        raise _refuse(
            "a cancellation by the patient has cancelationReason 'pat'",
            "Appointment.cancelationReason",
        )
    patient = f"Patient/{citizen.patient_id}"
    if not any(_ref(p.get("actor")) == patient for p in new.get("participant") or ()):
        raise _refuse(f"the appointment is not {patient}'s", "Appointment.participant")


def _compared(resource: Resource, key: str) -> Any:
    """``resource[key]`` as a cancellation compares it (``meta`` without the server's)."""
    value = resource.get(key)
    if key == "meta" and isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k not in _SERVER_META} or None
    return value


def _block(citizen: CitizenContext, consent: Resource, before: Resource | None) -> None:
    for version in (consent, before):
        if version is None:
            continue
        if not consents.is_block(dict(version)):
            raise _refuse("a citizen's Consent is a block (sperring)", "Consent.category")
        if _ref(version.get("patient")) != f"Patient/{citizen.patient_id}":
            raise _refuse("a block is of the patient's own record", "Consent.patient")
    if consent.get("status") not in ("active", "inactive"):
        raise _refuse("a block is active, or inactive once lifted", "Consent.status")


def _fullmakt(
    citizen: CitizenContext, related: Resource, before: Resource | None, today: datetime.date
) -> None:
    if citizen.proxy is not None:
        raise error(403, "forbidden", "only the citizen themselves grants a fullmakt")
    grantor = birth_date(citizen.fnr)
    if grantor is None or proxy.age_on(grantor, today) < GRANTOR_MIN_AGE:
        raise _refuse(f"a fullmakt is granted from the age of {GRANTOR_MIN_AGE}")
    for version in (related, before):
        if version is None:
            continue
        if _ref(version.get("patient")) != f"Patient/{citizen.patient_id}":
            raise _refuse("a fullmakt is to one's own record", "RelatedPerson.patient")
        if proxy.level_code(version) not in proxy.FULLMAKT_LEVELS:
            raise _refuse(
                f"a fullmakt has one of the levels {', '.join(proxy.FULLMAKT_LEVELS)}",
                "RelatedPerson.relationship",
            )
    numbers = [
        str(i.get("value") or "")
        for i in related.get("identifier") or ()
        if i.get("system") in (FNR_SYSTEM, DNR_SYSTEM)
    ]
    if len(numbers) != 1:
        raise _refuse(
            "a fullmakt names its holder by one fødselsnummer", "RelatedPerson.identifier"
        )
    number = numbers[0]
    if number == citizen.fnr:
        raise _refuse("a fullmakt is given to someone else", "RelatedPerson.identifier")
    info = classify(number, allow_test_identities=True)
    born = info.birth_date
    if info.system not in (FNR_SYSTEM, DNR_SYSTEM) or info.reason or born is None:
        raise _refuse(f"{number} is not a valid fødselsnummer", "RelatedPerson.identifier")
    if proxy.age_on(born, today) < proxy.PROXY_MIN_AGE:
        raise _refuse(
            f"a fullmakt is given to someone {proxy.PROXY_MIN_AGE} or older",
            "RelatedPerson.identifier",
        )
    if before is not None and proxy.holds_number(before, number) is False:
        raise _refuse("a fullmakt keeps its holder; revoke it and grant a new one")
