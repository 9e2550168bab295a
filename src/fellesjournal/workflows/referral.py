"""Referrals (henvisning) with legal clocks: receipt, assessment, waiting list, breaches.

A **referral** is a ServiceRequest with ``intent`` ``order``, a ``category`` SNOMED CT
3457005 (:func:`is_referral`), ``subject`` the Patient and ``performer`` the receiving
unit (an Organization, or a PractitionerRole of one). Other ServiceRequests (lab orders)
are left alone.

**Receipt** (:func:`on_service_request`, a reaction in the writing transaction): a
referral in an open status (active, draft, on-hold) without an assessment item gets one:

* receiving unit a *member* of the shared record: a ``referral-assessment`` work item in
  its queue (businessStatus :data:`RECEIVED`), ``requester`` the referring unit when known;
* receiving unit *outside* (a municipality holding an option, another Organization): the
  referral goes out as a ``henvisning`` Communication through the outbox, and the
  tracking item (``referral-assessment``, businessStatus :data:`SENT_TO_EXTERNAL`) sits in
  the *referring* unit's queue until someone there closes it when the answer comes. The
  referring unit is the acting health worker's, or for system clients the one
  ``ServiceRequest.requester`` names (PractitionerRole → its organization, or an
  Organization); none, or one outside the shared record: 422, nothing is stored.

The receipt date is the item's ``restriction.period.start``; it is the day the referral
was written (Europe/Oslo), or the date a client states in :data:`RECEIVED_URL`
(``valueDate``, not in the future: a paper referral registered late). The item is due
(``restriction.period.end``) :data:`ASSESSMENT_WORKING_DAYS` working days after receipt
(pasient- og brukerrettighetsloven § 2-2), :data:`SERIOUS_ILLNESS_WORKING_DAYS` when
serious illness is suspected (``priority`` urgent, asap or stat). Changing the performer
of a referral whose assessment item is open is refused (422): send it on with
``$assess`` instead, so that the item follows.

**Assessment** (:func:`assess`, ``POST ServiceRequest/[id]/$assess``), one transaction,
every write through the caller's guarded repository: the item is completed with the
outcome as ``statusReason`` (:data:`OUTCOME_SYSTEM`: ``right``, ``no-right``,
``sent-on``, ``rejected``) and businessStatus :data:`ASSESSED`; the ServiceRequest records
it in :data:`ASSESSMENT_URL` (sub-extensions ``outcome``, ``assessed``, ``assessor``,
``deadline``, ``reason``, ``sentOnTo``, ``newReferral``, later ``careStarted``) and its
status follows (:data:`STATUS_AFTER`: right stays ``active`` until care starts, no-right
and sent-on ``completed``, rejected ``revoked``). A right opens a ``waiting-list`` item in
the assessing unit's queue, due the deadline for start of care (frist), businessStatus
:data:`WAITING`: it closes only when an actor closes it with a reason (care started, or
why not), never by itself. Sent on: a new referral to the named unit (``replaces`` the
old one; its own assessment item, its clock from its own receipt). A ``vurderingsbrev``
goes to the patient and a copy to the referring unit, both through the outbox. Only a
doctor of the receiving unit (or a system client) assesses; a second assessment is 409.

**Start of care** (:func:`start_care`, ``POST ServiceRequest/[id]/$start-care``): closes
the waiting-list item (statusReason ``care-started``) and completes the referral. Closing
the item with a plain Task update works as well (the referral then stays active).

**Clocks** for the queue pages: :func:`clock` ``(task, today) -> int | None`` is the
working days left on a work item's due date (negative: days over), for the assessment
and the waiting-list items alike; :func:`oslo_date` gives ``today``.

**Invariants** (:func:`check`, run by ``fellesjournal queues check``): every open
referral has an assessment item focusing it; every referral assessed with a right has a
waiting-list item. **Fristbrudd** (:func:`breaches`): open assessment and waiting-list
items past their due date or at most :data:`NEAR_WORKING_DAYS` working days from it, per
unit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, bad_request, conflict, error
from fellesjournal.norway.workdays import add_working_days, working_days_between
from fellesjournal.service import references
from fellesjournal.workflows import messages, model, rules, units

if TYPE_CHECKING:
    from fellesjournal.service.repository import GuardedRepository
    from fellesjournal.store.base import StoredResource
    from fellesjournal.store.sql import SqlTransaction
    from fellesjournal.workflows.queues import Violation
    from fellesjournal.workflows.reactions import Change, Effects

Resource = dict[str, Any]

SNOMED: Final = "http://snomed.info/sct"
#: SNOMED CT "Patient referral" (the category that makes a ServiceRequest a referral).
REFERRAL_CATEGORY: Final = "3457005"
#: Extension (valueDate) on a referral: the day the receiving unit received it.
RECEIVED_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/referral-received"
#: Complex extension on an assessed referral (sub-extensions in the module docstring).
ASSESSMENT_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/referral-assessment"
OUTCOME_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/referral-outcome"

RIGHT: Final = "right"
NO_RIGHT: Final = "no-right"
SENT_ON: Final = "sent-on"
REJECTED: Final = "rejected"
OUTCOMES: Final[dict[str, str]] = {
    RIGHT: "Rett til nødvendig helsehjelp",
    NO_RIGHT: "Ikke rett til nødvendig helsehjelp",
    SENT_ON: "Videresendt",
    REJECTED: "Avvist",
}
#: The referral's status after each outcome.
STATUS_AFTER: Final[dict[str, str]] = {
    RIGHT: "active",  # until care starts ($start-care completes it)
    NO_RIGHT: "completed",
    SENT_ON: "completed",
    REJECTED: "revoked",
}

#: businessStatus codes (:data:`model.STATE_SYSTEM`) of the referral work items.
RECEIVED: Final = "received"
SENT_TO_EXTERNAL: Final = "sent-to-external"
ASSESSED: Final = "assessed"
WAITING: Final = "waiting"
CARE_STARTED: Final = "care-started"

#: pasient- og brukerrettighetsloven § 2-2: assessment within 10 working days of receipt.
ASSESSMENT_WORKING_DAYS: Final = 10
#: Regional rule (this region's choice, not a number in the law, which says only
#: "faster"): a referral with suspected serious illness is assessed within 5 working days.
SERIOUS_ILLNESS_WORKING_DAYS: Final = 5
SERIOUS_PRIORITIES: Final = frozenset({"urgent", "asap", "stat"})
#: A clock with this many working days left, or fewer, is near a breach.
NEAR_WORKING_DAYS: Final = 2
#: Referral statuses that still need (or have) an assessment.
OPEN_REFERRAL_STATUSES: Final = frozenset({"active", "draft", "on-hold"})
#: Work roles that assess referrals (a medical decision).
ASSESSING_ROLES: Final = frozenset({"doctor"})

OSLO: Final = ZoneInfo("Europe/Oslo")


# -- shapes and clocks ------------------------------------------------------------------------


def oslo_date(now: datetime) -> date:
    """The date in Norway at ``now`` (the legal clocks count Norwegian days)."""
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    return moment.astimezone(OSLO).date()


def is_referral(resource: Resource | None) -> bool:
    """Is ``resource`` a referral (ServiceRequest, intent order, category 3457005)?"""
    if not resource or resource.get("resourceType") != "ServiceRequest":
        return False
    if resource.get("intent") != "order":
        return False
    return any(
        coding.get("system") == SNOMED and coding.get("code") == REFERRAL_CATEGORY
        for concept in resource.get("category") or ()
        for coding in concept.get("coding") or ()
    )


def assessment_due(received: date, priority: str | None) -> date:
    """The last day of the assessment clock for a referral received on ``received``."""
    days = (
        SERIOUS_ILLNESS_WORKING_DAYS if priority in SERIOUS_PRIORITIES else ASSESSMENT_WORKING_DAYS
    )
    return add_working_days(received, days)


def clock(task: Resource, today: date) -> int | None:
    """Working days left until the work item's due date (0: due today; negative: the
    working days it is over), or None when it has no due date. The queue pages show it
    for assessment items (days left to assess) and waiting-list items (days left to the
    start of care)."""
    due = model.due_of(task)
    if not due:
        return None
    try:
        end = date.fromisoformat(due[:10])
    except ValueError:
        return None
    return working_days_between(today, end)


def received_of(task: Resource) -> str | None:
    """The receipt date recorded on a referral's assessment item."""
    start = ((task.get("restriction") or {}).get("period") or {}).get("start")
    return start if isinstance(start, str) else None


def _assessment_extension(referral: Resource) -> Resource | None:
    return next(
        (e for e in referral.get("extension") or () if e.get("url") == ASSESSMENT_URL), None
    )


def assessment_of(referral: Resource) -> dict[str, Any] | None:
    """The recorded assessment of a referral as ``{sub-extension url: value}``, or None."""
    ext = _assessment_extension(referral)
    if ext is None:
        return None
    return {
        str(sub.get("url")): value
        for sub in ext.get("extension") or ()
        for key, value in sub.items()
        if key.startswith("value")
    }


def _ref(value: Any) -> str | None:
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) and ref else None


def _load(content: bytes | str | None) -> Resource:
    return dict(jsonio.loads(content)) if content else {}


def _performer_unit(tx: SqlTransaction, referral: Resource) -> units.UnitInfo:
    """The receiving unit; 422 unless the referral names exactly one stored unit."""
    performers = [r for r in map(_ref, referral.get("performer") or ()) if r]
    if len(performers) != 1:
        raise error(
            422,
            "required",
            "a referral names one receiving unit (performer: an Organization)",
            "ServiceRequest.performer",
        )
    unit_ref = units.unit_of_role(tx, performers[0])
    found = units.unit(tx, unit_ref)
    if found is None:
        raise error(
            422,
            "invalid",
            f"the receiving unit {performers[0]} is not a stored Organization (or a "
            "PractitionerRole of one)",
            "ServiceRequest.performer",
        )
    return found


def _received(referral: Resource, today: date) -> date:
    value = model.extension_value(referral, RECEIVED_URL)
    if value is None:
        return today
    try:
        received = (
            date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        )
    except ValueError:
        received = None
    if received is None:
        raise error(422, "invalid", "the receipt date must be a full date (YYYY-MM-DD)")
    if received > today:
        raise error(422, "invalid", "the receipt date of a referral cannot be in the future")
    return received


def _referrer(tx: SqlTransaction, fx: Effects, referral: Resource) -> units.UnitInfo | None:
    """The referring unit: the acting health worker's, else the one the requester names."""
    work = fx.actor.work
    if work is not None:
        return units.unit(tx, f"Organization/{work.unit_id}")
    return units.unit(tx, units.unit_of_role(tx, _ref(referral.get("requester"))))


def _summary(referral: Resource) -> str:
    code = referral.get("code") or {}
    text = code.get("text") or next(
        (c.get("display") for c in code.get("coding") or () if c.get("display")), None
    )
    return f"Henvisning: {text}" if text else "Henvisning"


# -- receipt (the reaction) -------------------------------------------------------------------


def _assessment_items(fx: Effects, reference: str) -> list[str]:
    return fx.search(
        "Task",
        [("focus", reference), ("code", f"{model.CODE_SYSTEM}|{model.REFERRAL_ASSESSMENT}")],
    )


def on_service_request(fx: Effects, change: Change) -> None:
    """A referral written in an open status without its assessment item gets one (see
    the module docstring); a ServiceRequest that is not a referral is left alone."""
    new = change.resource
    if not is_referral(new) or new is None or new.get("status") not in OPEN_REFERRAL_STATUSES:
        return
    reference = change.reference
    existing = _assessment_items(fx, reference)
    if existing:
        _refuse_performer_change(fx, change, existing)
        return
    subject = _ref(new.get("subject"))
    if not subject or not subject.startswith("Patient/"):
        raise error(
            422, "required", "a referral's subject is the Patient", "ServiceRequest.subject"
        )
    tx = fx.tx
    receiver = _performer_unit(tx, new)
    received = _received(new, oslo_date(fx.now))
    priority = str(new["priority"]) if new.get("priority") in SERIOUS_PRIORITIES else "routine"
    referrer = _referrer(tx, fx, new)
    owner, state = receiver, RECEIVED
    description = f"{_summary(new)} (mottatt {received.isoformat()})"
    if not receiver.member:
        # Outside the shared record: the referral goes out as a message, and the
        # referring unit tracks the answer (nobody here watches the receiver's queue).
        if referrer is None or not referrer.member:
            raise error(
                422,
                "required",
                f"{receiver.name} is outside the shared record: the referral is sent to it "
                "as a message and tracked by the referring unit, which must be a member (a "
                "health worker's unit, or ServiceRequest.requester naming a PractitionerRole "
                "or Organization of one)",
                "ServiceRequest.requester",
            )
        fx.create(
            messages.communication(
                "henvisning",
                sender=referrer.reference,
                recipients=[receiver.reference],
                patient=subject,
                sent=fx.now_iso,
                about=[reference],
                text=_summary(new),
            )
        )
        owner, state = referrer, SENT_TO_EXTERNAL
        description = (
            f"{_summary(new)} sendt til {receiver.name} (utenfor fellesjournalen): "
            "følg opp vurderingen"
        )
    task = model.work_item(
        model.REFERRAL_ASSESSMENT,
        owner=owner.reference,
        patient=subject,
        focus=reference,
        authored=fx.now_iso,
        due=assessment_due(received, priority).isoformat(),
        state=state,
        priority=priority,
        description=description,
        requester=referrer.reference if referrer else None,
    )
    task["restriction"]["period"]["start"] = received.isoformat()
    fx.create(task)


def _refuse_performer_change(fx: Effects, change: Change, items: list[str]) -> None:
    old, new = change.previous, change.resource
    if not is_referral(old) or old is None or new is None:
        return
    if [_ref(p) for p in old.get("performer") or ()] == [
        _ref(p) for p in new.get("performer") or ()
    ]:
        return
    for task_id in items:
        task = fx.read(f"Task/{task_id}")
        if task and model.is_open(task):
            raise error(
                422,
                "business-rule",
                "the referral's assessment item is open at its receiving unit: send it on "
                "with $assess (outcome sent-on) instead of changing the performer",
                "ServiceRequest.performer",
            )


# -- assessment -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assessment:
    """What an assessment wrote (references as ``Type/id``)."""

    referral: str
    outcome: str
    assessment_item: str
    waiting_list: str | None
    new_referral: str | None
    letters: tuple[str, ...]


def _search(
    repo: GuardedRepository, tx: SqlTransaction, res_type: str, params: list[Any]
) -> list[str]:
    return units.search_ids(repo, tx, res_type, params, 1000)


def _items(
    repo: GuardedRepository, tx: SqlTransaction, reference: str, kind: str
) -> list[tuple[str, int, Resource]]:
    """The work items of ``kind`` focusing ``reference``: ``(id, version, content)``."""
    out = []
    for task_id in _search(
        repo, tx, "Task", [("focus", reference), ("code", f"{model.CODE_SYSTEM}|{kind}")]
    ):
        stored = tx.read("Task", task_id)
        if stored is not None and not stored.deleted and stored.content:
            out.append((task_id, stored.version, _load(stored.content)))
    return out


def _check_outcome(
    outcome: str, deadline: date | None, reason: str | None, sent_on_to: str | None, today: date
) -> None:
    if outcome not in OUTCOMES:
        raise bad_request(
            f"outcome must be one of {', '.join(OUTCOMES)}, not '{outcome}'", "outcome"
        )
    if outcome == RIGHT:
        if deadline is None:
            raise bad_request(
                "a right to necessary health care needs its 'deadline' (frist)", "deadline"
            )
        if deadline <= today:
            raise error(
                422,
                "business-rule",
                f"the deadline for start of care ({deadline.isoformat()}) must be after today",
                "deadline",
            )
    elif not (reason or "").strip():
        raise bad_request(f"outcome {outcome} needs a 'reason'", "reason")
    if outcome == SENT_ON and not sent_on_to:
        raise bad_request("outcome sent-on needs 'sentOnTo' (the Organization)", "sentOnTo")
    if outcome != SENT_ON and sent_on_to:
        raise bad_request("'sentOnTo' goes with outcome sent-on only", "sentOnTo")


def _may_act(
    repo: GuardedRepository,
    owner: str,
    patient_id: str | None,
    what: str,
    roles: frozenset[str] | None = None,
) -> None:
    """403 unless a system client, or a health worker of ``owner`` (in one of ``roles``,
    when given; the repository then checks what their role may write)."""
    actor = repo.ctx.actor
    if actor.is_system:
        return
    work = actor.work
    if work is None or f"Organization/{work.unit_id}" != owner:
        repo.gate.deny("update", patient_id, f"only the unit {owner} may {what}")
    elif roles is not None and work.role not in roles:
        repo.gate.deny(
            "update",
            patient_id,
            f"the work role '{work.role}' does not {what}: {', '.join(sorted(roles))} does",
        )


def _clean(resource: Resource) -> Resource:
    out = copy.deepcopy(resource)
    meta = out.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del out["meta"]
    return out


def _letter_text(outcome: str, deadline: date | None, reason: str | None, sent_on: str) -> str:
    if outcome == RIGHT and deadline is not None:
        text = (
            "Du har rett til nødvendig helsehjelp i spesialisthelsetjenesten. Helsehjelpen skal "
            f"starte senest {deadline.strftime('%d.%m.%Y')}."
        )
    elif outcome == NO_RIGHT:
        text = "Du har ikke rett til nødvendig helsehjelp i spesialisthelsetjenesten."
    elif outcome == SENT_ON:
        text = f"Henvisningen er sendt videre til {sent_on}, som vurderer den på nytt."
    else:
        text = "Henvisningen er avvist."
    if reason:
        text += f" Begrunnelse: {reason}"
    if outcome in (NO_RIGHT, REJECTED):
        text += (
            " Du kan be om ny vurdering og klage til Statsforvalteren "
            "(pasient- og brukerrettighetsloven kapittel 7)."
        )
    return text


def _read_referral(
    repo: GuardedRepository, tx: SqlTransaction, referral_id: str
) -> tuple[StoredResource, Resource]:
    """The referral as the caller may see it (404 otherwise), or 422: not a referral."""
    stored = repo.read("ServiceRequest", referral_id, tx=tx)
    referral = _load(stored.content)
    if not is_referral(referral):
        raise error(
            422, "business-rule", f"ServiceRequest/{referral_id} is not a referral (3457005)"
        )
    return stored, referral


def _close(
    repo: GuardedRepository,
    tx: SqlTransaction,
    item: tuple[str, int, Resource],
    coding: Resource,
    text: str,
    state: str,
    now_iso: str,
) -> None:
    """Complete a work item with its reason, as the caller (the repository stamps who
    and when); a concurrent change to it is 409."""
    task_id, version, task = item
    closed = _clean(task)
    closed["status"] = "completed"
    closed["statusReason"] = {"coding": [coding], "text": text}
    closed["lastModified"] = now_iso
    model.set_state(closed, state)
    try:
        repo.update("Task", task_id, closed, if_match=version, tx=tx)
    except FhirError as exc:
        if exc.status == 412:
            raise conflict(f"Task/{task_id} was changed meanwhile: try again") from None
        raise


def _onward(
    referral: Resource,
    reference: str,
    sender: units.UnitInfo,
    target: units.UnitInfo,
    now_iso: str,
) -> Resource:
    """The new referral that sends ``referral`` on from ``sender`` to ``target``."""
    onward = _clean(referral)
    for key in ("id", "meta", "identifier"):
        onward.pop(key, None)
    kept = [
        e
        for e in onward.get("extension") or ()
        if e.get("url") not in (ASSESSMENT_URL, RECEIVED_URL)
    ]
    if kept:
        onward["extension"] = kept
    else:
        onward.pop("extension", None)
    onward["status"] = "active"
    onward["authoredOn"] = now_iso
    onward["performer"] = [{"reference": target.reference, "display": target.name}]
    onward["requester"] = {"reference": sender.reference, "display": sender.name}
    onward["replaces"] = [{"reference": reference}]
    return onward


def _with_assessment(referral: Resource, parts: list[Resource]) -> Resource:
    updated = _clean(referral)
    others = [e for e in updated.get("extension") or () if e.get("url") != ASSESSMENT_URL]
    updated["extension"] = [*others, {"url": ASSESSMENT_URL, "extension": parts}]
    return updated


def assess(
    repo: GuardedRepository,
    referral_id: str,
    outcome: str,
    *,
    deadline: date | None = None,
    reason: str | None = None,
    sent_on_to: str | None = None,
    now: datetime | None = None,
) -> Assessment:
    """Record the assessment of referral ``referral_id`` (see the module docstring), in
    one transaction through ``repo``. 400 for a missing or wrong parameter, 403/404 for
    a caller who may not, 409 when it cannot be assessed (again), 422 for a deadline not
    after today or an unknown unit to send it on to."""
    now = now or datetime.now(UTC)
    today = oslo_date(now)
    reason = (reason or "").strip() or None
    _check_outcome(outcome, deadline, reason, sent_on_to, today)
    now_iso = now.isoformat(timespec="seconds")
    reference = f"ServiceRequest/{referral_id}"
    with repo.writing() as tx:
        stored, referral = _read_referral(repo, tx, referral_id)
        receiver = _performer_unit(tx, referral)
        _may_act(repo, receiver.reference, stored.patient_id, "assess referrals", ASSESSING_ROLES)
        items = _items(repo, tx, reference, model.REFERRAL_ASSESSMENT)
        open_items = [i for i in items if model.is_open(i[2])]
        if assessment_of(referral) is not None or (items and not open_items):
            raise conflict(f"{reference} has been assessed already")
        if referral.get("status") not in OPEN_REFERRAL_STATUSES:
            raise conflict(f"{reference} is {referral.get('status')}: there is nothing to assess")
        mine = [i for i in open_items if model.owner_of(i[2]) == receiver.reference]
        if not mine:
            raise conflict(
                f"{reference} was sent to {receiver.name} outside the shared record: its "
                "answer comes back as a message; close the tracking item when it does"
                if open_items
                else f"{reference} has no open assessment item at {receiver.name}"
            )
        target = units.unit(tx, sent_on_to) if outcome == SENT_ON else None
        if outcome == SENT_ON and target is None:
            raise error(422, "invalid", f"{sent_on_to} is not a stored Organization", "sentOnTo")
        if target is not None and target.id == receiver.id:
            raise error(422, "business-rule", "a referral is sent on to another unit", "sentOnTo")
        task = mine[0][2]
        patient = _ref(referral.get("subject"))
        referrer = _ref(task.get("requester")) or units.unit_of_role(
            tx, _ref(referral.get("requester"))
        )

        # 1. The assessment item: completed, with the outcome as its reason.
        coding = {"system": OUTCOME_SYSTEM, "code": outcome, "display": OUTCOMES[outcome]}
        _close(repo, tx, mine[0], coding, reason or OUTCOMES[outcome], ASSESSED, now_iso)

        # 2. A right: the waiting-list entry, open until an actor closes it.
        waiting_ref = None
        if outcome == RIGHT and deadline is not None:
            entry = model.work_item(
                model.WAITING_LIST,
                owner=receiver.reference,
                patient=patient,
                focus=reference,
                authored=now_iso,
                due=deadline.isoformat(),
                state=WAITING,
                priority=str(task.get("priority") or "routine"),
                description=f"Rett til helsehjelp: start senest {deadline.strftime('%d.%m.%Y')}",
                requester=referrer,
            )
            entry["restriction"]["period"]["start"] = today.isoformat()
            waiting_ref = f"Task/{repo.create('Task', entry, tx=tx).stored.res_id}"

        # 3. Sent on: a new referral to the other unit (its own item and clock).
        new_ref = None
        if target is not None:
            onward = _onward(referral, reference, receiver, target, now_iso)
            new_ref = f"ServiceRequest/{repo.create('ServiceRequest', onward, tx=tx).stored.res_id}"

        # 4. The referral records its assessment.
        parts: list[Resource] = [
            {"url": "outcome", "valueCoding": coding},
            {"url": "assessed", "valueDateTime": now_iso},
            {"url": "assessor", "valueReference": rules.actor_reference(repo.ctx.actor)},
        ]
        if deadline is not None:
            parts.append({"url": "deadline", "valueDate": deadline.isoformat()})
        if reason:
            parts.append({"url": "reason", "valueString": reason})
        if target is not None:
            parts.append({"url": "sentOnTo", "valueReference": {"reference": target.reference}})
            parts.append({"url": "newReferral", "valueReference": {"reference": new_ref}})
        updated = _with_assessment(referral, parts)
        updated["status"] = STATUS_AFTER[outcome]
        repo.update("ServiceRequest", referral_id, updated, if_match=stored.version, tx=tx)

        # 5. The letter to the patient and the copy to the referrer, through the outbox.
        text = _letter_text(outcome, deadline, reason, target.name if target else "")
        recipients = [(patient, text)] if patient else []
        if referrer:
            recipients.append((referrer, f"Kopi av svar på henvisning til {receiver.name}: {text}"))
        letters = []
        for recipient, body in recipients:
            letter = messages.communication(
                "vurderingsbrev",
                sender=receiver.reference,
                recipients=[recipient],
                patient=patient,
                sent=now_iso,
                about=[reference] + ([new_ref] if new_ref else []),
                text=body,
            )
            letters.append(
                f"Communication/{repo.create('Communication', letter, tx=tx).stored.res_id}"
            )
    return Assessment(
        reference, outcome, f"Task/{mine[0][0]}", waiting_ref, new_ref, tuple(letters)
    )


def start_care(
    repo: GuardedRepository,
    referral_id: str,
    *,
    reason: str | None = None,
    started: date | None = None,
    now: datetime | None = None,
) -> str:
    """Care has started for a referral with a right: close its waiting-list item (with
    the reason and the actor) and complete the referral; the item's reference. Any
    health worker of the item's unit whose role writes Tasks and ServiceRequests (or a
    system client); 409 when there is no open waiting-list item, 422 for a start date in
    the future."""
    now = now or datetime.now(UTC)
    today = oslo_date(now)
    started = started or today
    if started > today:
        raise error(422, "business-rule", "care cannot have started after today", "date")
    reason = (reason or "").strip() or "Helsehjelp startet"
    now_iso = now.isoformat(timespec="seconds")
    reference = f"ServiceRequest/{referral_id}"
    with repo.writing() as tx:
        stored, referral = _read_referral(repo, tx, referral_id)
        items = _items(repo, tx, reference, model.WAITING_LIST)
        open_items = [i for i in items if model.is_open(i[2])]
        if not open_items:
            raise conflict(
                f"{reference} has no open waiting-list entry"
                + (": care has started already" if items else " (it has no right to care yet)")
            )
        owner = model.owner_of(open_items[0][2]) or ""
        _may_act(repo, owner, stored.patient_id, "record the start of care")
        coding = {
            "system": model.STATE_SYSTEM,
            "code": CARE_STARTED,
            "display": "Helsehjelp startet",
        }
        _close(repo, tx, open_items[0], coding, reason, CARE_STARTED, now_iso)
        parts = [
            e
            for e in (_assessment_extension(referral) or {}).get("extension") or ()
            if e.get("url") != "careStarted"
        ]
        updated = _with_assessment(
            referral, [*parts, {"url": "careStarted", "valueDate": started.isoformat()}]
        )
        if referral.get("status") in OPEN_REFERRAL_STATUSES:
            updated["status"] = "completed"
        repo.update("ServiceRequest", referral_id, updated, if_match=stored.version, tx=tx)
    return f"Task/{open_items[0][0]}"


# -- invariants -------------------------------------------------------------------------------


def check(repo: GuardedRepository, tx: SqlTransaction, now: datetime) -> list[Violation]:
    """Every open referral without an assessment item, and every referral assessed with a
    right without a waiting-list item (``queues.check`` runs this)."""
    from fellesjournal.workflows.queues import Violation

    kinds: dict[str, set[str]] = {}
    wanted = (model.REFERRAL_ASSESSMENT.encode(), model.WAITING_LIST.encode())
    for stored in references.scan(tx, "Task"):
        raw = stored.content
        if not raw:
            continue
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        if not any(w in data for w in wanted):  # most Tasks are other work: skip the parse
            continue
        task = _load(raw)
        focus = _ref(task.get("focus"))
        kind = model.kind_of(task)
        if focus and kind:
            kinds.setdefault(focus, set()).add(kind)
    found: list[Violation] = []
    for stored in references.scan(tx, "ServiceRequest"):
        raw = stored.content
        data = raw if isinstance(raw, bytes) else str(raw or "").encode()
        if REFERRAL_CATEGORY.encode() not in data:
            continue
        referral = _load(raw)
        if not is_referral(referral):
            continue
        ref = f"ServiceRequest/{stored.res_id}"
        have = kinds.get(ref, set())
        if (
            referral.get("status") in OPEN_REFERRAL_STATUSES
            and model.REFERRAL_ASSESSMENT not in have
        ):
            found.append(
                Violation(
                    "referral-without-assessment",
                    ref,
                    f"referral ({referral.get('status')}) has no assessment work item",
                )
            )
        assessed = assessment_of(referral) or {}
        outcome = (assessed.get("outcome") or {}).get("code")
        if outcome == RIGHT and model.WAITING_LIST not in have:
            found.append(
                Violation(
                    "right-without-waiting-list",
                    ref,
                    "referral assessed with a right to care has no waiting-list work item",
                )
            )
    return found


# -- breaches (fristbrudd) --------------------------------------------------------------------

#: The clock a breach is on.
ASSESSMENT_CLOCK: Final = "assessment"
START_CLOCK: Final = "start-of-care"


@dataclass(frozen=True, slots=True)
class Breach:
    """One clock past or near its end: an open assessment or waiting-list item."""

    unit: str  #: ``Organization/id`` (the queue that holds the item)
    unit_name: str
    clock: str  #: :data:`ASSESSMENT_CLOCK` or :data:`START_CLOCK`
    task: str
    referral: str | None
    patient: str | None
    due: str
    days_left: int  #: working days left (negative: over)
    external: bool  #: a tracking item: the assessment is due from a unit outside

    @property
    def breached(self) -> bool:
        return self.days_left < 0


def _unit_reference(value: str) -> str:
    value = value.strip()
    return value if value.startswith("Organization/") else f"Organization/{value}"


def breaches(
    repo: GuardedRepository,
    now: datetime | None = None,
    *,
    unit: str | None = None,
    near: int = NEAR_WORKING_DAYS,
) -> list[Breach]:
    """Open assessment and waiting-list items past their due date or at most ``near``
    working days from it, most urgent first; of one unit (``Organization/id`` or the id)
    or all. A health worker sees their own unit's (403 for another's); system clients
    any. The search is access-filtered and audited."""
    if near < 0:
        raise bad_request("near must not be negative", "near")
    actor = repo.ctx.actor
    wanted = _unit_reference(unit) if unit else None
    if actor.work is not None:
        own = f"Organization/{actor.work.unit_id}"
        if wanted and wanted != own:
            repo.gate.deny("search", None, "a health worker sees the breaches of their own unit")
        wanted = own
    elif not actor.is_system:
        repo.gate.deny("search", None, "the breach report is for health workers and systems")
    now = now or datetime.now(UTC)
    today = oslo_date(now)
    limit = add_working_days(today, near)
    params = [
        (
            "code",
            f"{model.CODE_SYSTEM}|{model.REFERRAL_ASSESSMENT},"
            f"{model.CODE_SYSTEM}|{model.WAITING_LIST}",
        ),
        ("status", ",".join(sorted(model.OPEN))),
        ("due", f"le{limit.isoformat()}"),
        ("_count", "1000"),
    ]
    if wanted:
        params.append(("owner", wanted))
    out: list[Breach] = []
    names: dict[str, str] = {}
    with repo.reading() as tx:
        offset = 0
        while True:
            result = repo.search("Task", [*params, ("_offset", str(offset))], tx=tx)
            for stored in result.matches:
                task = _load(stored.content)
                days = clock(task, today)
                owner = model.owner_of(task)
                if days is None or days > near or owner is None:
                    continue
                if owner not in names:
                    info = units.unit(tx, owner)
                    names[owner] = info.name if info else owner
                kind = model.kind_of(task)
                out.append(
                    Breach(
                        unit=owner,
                        unit_name=names[owner],
                        clock=START_CLOCK if kind == model.WAITING_LIST else ASSESSMENT_CLOCK,
                        task=f"Task/{stored.res_id}",
                        referral=_ref(task.get("focus")),
                        patient=_ref(task.get("for")),
                        due=str(model.due_of(task)),
                        days_left=days,
                        external=model.state_of(task) == SENT_TO_EXTERNAL,
                    )
                )
            if len(result.matches) < 1000:
                break
            offset += 1000
    return sorted(out, key=lambda b: (b.days_left, b.unit_name, b.task))
