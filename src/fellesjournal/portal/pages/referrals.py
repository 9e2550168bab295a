"""Referrals in the portal: where each went, its status in plain words, whether a right
to necessary health care was granted and the deadline for the start of care.

``GET /portal/referrals`` (:func:`referral_list`): the patient's referrals
(ServiceRequest, category SNOMED CT 3457005, ``workflows/referral.py``), newest first,
each with the receiving unit, who referred, when, the assessment the receiving unit
recorded (extension ``referral-assessment``: outcome, deadline, care started, sent on to)
and the letters about it (``vurderingsbrev`` Communications addressed to the patient).
Until it is assessed the page says by when it must be (10 working days after receipt, 5
with suspected serious illness: ``referral.assessment_due``). Needs the capability
``read``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fellesjournal.portal.base import Portal, answers, page
from fellesjournal.portal.pages.acting import (
    Directory,
    concept_text,
    load,
    now_utc,
    ref_of,
    search_all,
)
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.i18n import N_
from fellesjournal.workflows import messages, model, referral

Resource = dict[str, Any]

#: The states a referral is shown in, in plain words.
STATE_LABELS: Final[dict[str, str]] = {
    "waiting": N_("Received, waiting to be assessed"),
    "right": N_("You have a right to necessary health care"),
    "care-started": N_("Care has started"),
    "no-right": N_("Assessed: no right to necessary health care"),
    "sent-on": N_("Sent on to another unit"),
    "rejected": N_("Rejected"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
    "draft": N_("Being written"),
}
LETTER_KIND: Final = "vurderingsbrev"


@dataclass(frozen=True, slots=True)
class Letter:
    id: str
    sent: str
    sender: str
    text: str


@dataclass(frozen=True, slots=True)
class ReferralView:
    """One referral as the portal shows it."""

    id: str
    what: str
    why: str  #: the reason for the referral, as the referrer wrote it
    unit: str | None  #: ``Organization/id`` of the receiving unit
    unit_name: str
    referrer: str  #: who referred (a person and their unit, or a unit)
    authored: str | None
    received: str | None
    state: str  #: a key of :data:`STATE_LABELS`
    state_label: str
    assess_by: str | None  #: the last day of the assessment clock (not yet assessed)
    right: bool | None  #: a right to necessary health care (None: not assessed)
    deadline: str | None  #: the deadline for the start of care (frist)
    deadline_passed: bool
    care_started: str | None
    assessed: str | None
    reason: str  #: the assessment's reason, as written
    sent_on_to: str  #: the unit it was sent on to
    urgent: bool
    letters: list[Letter] = field(default_factory=list)


def _state(status: str, outcome: str | None, care_started: str | None) -> str:
    if outcome == referral.RIGHT:
        return "care-started" if care_started else "right"
    if outcome in (referral.NO_RIGHT, referral.SENT_ON, referral.REJECTED):
        return outcome
    if status in ("active", "on-hold"):
        return "waiting"
    if status == "draft":
        return "draft"
    if status == "revoked":
        return "withdrawn"
    return "completed"


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def view(
    resource: Resource, directory: Directory, letters: list[Letter], today: dt.date
) -> ReferralView:
    performer = next((ref_of(p) for p in resource.get("performer") or () if ref_of(p)), None)
    unit = directory.unit_of(performer) or performer
    requester = ref_of(resource.get("requester"))
    referrer = directory.name(
        requester, str((resource.get("requester") or {}).get("display") or "")
    )
    requester_unit = directory.unit_of(requester)
    if requester_unit and requester_unit != requester:
        referrer = (
            f"{referrer}, {directory.name(requester_unit)}"
            if referrer
            else directory.name(requester_unit)
        )
    assessment = referral.assessment_of(resource) or {}
    outcome = (assessment.get("outcome") or {}).get("code") if assessment else None
    care_started = assessment.get("careStarted")
    deadline = assessment.get("deadline")
    status = str(resource.get("status") or "")
    state = _state(status, outcome, care_started)
    received = model.extension_value(resource, referral.RECEIVED_URL)
    authored = resource.get("authoredOn")
    assess_by = None
    if state == "waiting":
        start = _date(received) or _date(authored)
        if start is not None:
            assess_by = referral.assessment_due(start, resource.get("priority")).isoformat()
    sent_on = ref_of(assessment.get("sentOnTo"))
    deadline_day = _date(deadline)
    why = " ".join(t for t in (concept_text(c) for c in resource.get("reasonCode") or ()) if t)
    return ReferralView(
        id=str(resource.get("id")),
        what=concept_text(resource.get("code")) or why,
        why=why if concept_text(resource.get("code")) else "",
        unit=unit,
        unit_name=directory.name(
            unit, str(((resource.get("performer") or [{}])[0]).get("display") or "")
        ),
        referrer=referrer,
        authored=authored if isinstance(authored, str) else None,
        received=received if isinstance(received, str) else None,
        state=state,
        state_label=STATE_LABELS[state],
        assess_by=assess_by,
        right=None if outcome is None else outcome == referral.RIGHT,
        deadline=deadline if isinstance(deadline, str) else None,
        deadline_passed=state == "right" and deadline_day is not None and deadline_day < today,
        care_started=care_started if isinstance(care_started, str) else None,
        assessed=assessment.get("assessed")
        if isinstance(assessment.get("assessed"), str)
        else None,
        reason=str(assessment.get("reason") or ""),
        sent_on_to=directory.name(sent_on) if sent_on else "",
        urgent=resource.get("priority") in referral.SERIOUS_PRIORITIES,
        letters=letters,
    )


def letters_by_referral(
    repo: GuardedRepository, patient_id: str, directory: Directory
) -> dict[str, list[Letter]]:
    """The assessment letters addressed to the patient, by the referral they are about."""
    found = search_all(
        repo,
        "Communication",
        [
            ("subject", f"Patient/{patient_id}"),
            ("category", f"{messages.KIND_SYSTEM}|{LETTER_KIND}"),
        ],
    )
    letters = [load(s) for s in found if s.content]
    directory.fetch(ref_of(c.get("sender")) for c in letters)
    out: dict[str, list[Letter]] = {}
    for comm in letters:
        recipients = {ref_of(r) for r in comm.get("recipient") or ()}
        if f"Patient/{patient_id}" not in recipients:
            continue  # the copy to the referrer
        letter = Letter(
            id=str(comm.get("id")),
            sent=str(comm.get("sent") or ""),
            sender=directory.name(ref_of(comm.get("sender"))),
            text="\n".join(
                str(p["contentString"]) for p in comm.get("payload") or () if p.get("contentString")
            ),
        )
        for about in comm.get("about") or ():
            ref = ref_of(about)
            if ref and ref.startswith("ServiceRequest/"):
                out.setdefault(ref.split("/", 1)[1], []).append(letter)
    for items in out.values():
        items.sort(key=lambda letter: letter.sent)
    return out


def referral_list(
    repo: GuardedRepository, patient_id: str, now: dt.datetime | None = None
) -> list[ReferralView]:
    """The patient's referrals, newest first (entered in error left out)."""
    today = referral.oslo_date(now or now_utc())
    found = search_all(
        repo,
        "ServiceRequest",
        [
            ("subject", f"Patient/{patient_id}"),
            ("category", f"{referral.SNOMED}|{referral.REFERRAL_CATEGORY}"),
        ],
    )
    resources = [load(s) for s in found if s.content]
    resources = [
        r
        for r in resources
        if referral.is_referral(r) and r.get("status") not in ("entered-in-error", "unknown")
    ]
    directory = Directory(repo)
    refs: list[str | None] = []
    for r in resources:
        refs += [ref_of(p) for p in r.get("performer") or ()]
        refs.append(ref_of(r.get("requester")))
        refs.append(ref_of((referral.assessment_of(r) or {}).get("sentOnTo")))
    directory.fetch(refs)
    letters = letters_by_referral(repo, patient_id, directory)
    views = [view(r, directory, letters.get(str(r.get("id")), []), today) for r in resources]
    views.sort(key=lambda v: v.authored or v.received or "", reverse=True)
    return views


class ReferralPages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    @answers
    async def index(self, request: Request) -> Response:
        repo, patient_id = self.portal.page_repository(request, "read")
        found = referral_list(repo, patient_id)
        return page(request, "portal/referrals.html", referrals=found)


def routes(portal: Portal) -> list[BaseRoute]:
    return [Route("/portal/referrals", ReferralPages(portal).index)]
