"""What the queue pages read: a unit's work items as rows, one Task search a page.

A queue is the work context unit's Tasks (``owner=Organization/{unit}``), narrowed by
a status tab (:data:`TABS`) and a kind (:data:`KIND_LABELS`), sorted by due date (the
most urgent first), :data:`PAGE_SIZE` a page. Two guarded searches make a page: the
Tasks, then their patients by ``_id`` (:func:`patients_by_id`); no query per row.
Everything comes through :class:`GuardedRepository` as the signed-in health worker
(access filter, audit); nothing here touches SQL.

The clock of an item (:func:`clock`): working days left to its due date, counted with
Norwegian public holidays (``norway/workdays.py``; the referral workflow's own clock for
its assessment and waiting-list items), or the days it is over.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from fellesjournal.access.context import WorkContext
from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.norway.workdays import working_days_between
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.directory import person_name
from fellesjournal.web.i18n import N_
from fellesjournal.workflows import model, referral

Resource = dict[str, Any]
OSLO: Final = ZoneInfo("Europe/Oslo")
PAGE_SIZE: Final = 50
#: How far back "closed recently" looks.
RECENT_DAYS: Final = 7

#: The kinds of work item (``model.KINDS``), as the pages name them.
KIND_LABELS: Final[dict[str, str]] = {
    model.REFERRAL_ASSESSMENT: N_("Referral to assess"),
    model.WAITING_LIST: N_("Waiting list: start of care"),
    model.RESULT_ACKNOWLEDGEMENT: N_("Result to acknowledge"),
    model.RESULT_UNMATCHED: N_("Result without order or patient"),
    model.MESSAGE: N_("Incoming message"),
    model.DISCHARGE_READY: N_("Patient ready for discharge"),
    model.SERVICE_DECISION: N_("Application for municipal services"),
    model.DELIVERY_FAILURE: N_("Delivery failed"),
    model.APPOINTMENT_REQUEST: N_("Request for a new appointment"),
}
#: The status tabs of a queue.
TABS: Final[dict[str, str]] = {
    "open": N_("Open"),
    "mine": N_("Taken by me"),
    "overdue": N_("Overdue"),
    "escalated": N_("Escalated"),
    "closed": N_("Closed recently"),
}
#: The tab a role starts on: the unit leader watches what was escalated to them.
DEFAULT_TAB: Final[dict[str, str]] = {"unit-leader": "escalated"}
#: Closed Task statuses, as the pages name them.
CLOSED_LABELS: Final[dict[str, str]] = {
    "completed": N_("Done"),
    "cancelled": N_("Cancelled"),
    "failed": N_("Failed"),
    "rejected": N_("Rejected"),
    "entered-in-error": N_("Entered in error"),
}


def today_in_oslo(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(OSLO).date()


@dataclass(frozen=True, slots=True)
class Filters:
    """One view of a queue: tab, kind (empty: all) and page (from 1)."""

    tab: str
    kind: str
    page: int

    @classmethod
    def parse(cls, query: Any, role: str) -> Filters:
        """From the query string; anything unknown falls back to the default view."""
        tab = str(query.get("status") or DEFAULT_TAB.get(role, "open"))
        kind = str(query.get("kind") or "")
        page = str(query.get("page") or "1")
        return cls(
            tab if tab in TABS else "open",
            kind if kind in KIND_LABELS else "",
            min(int(page), 10_000) if page.isdigit() and int(page) > 0 else 1,
        )

    def query(self, **changes: Any) -> str:
        """The query string of this view with ``changes`` (a tab or kind starts at page 1)."""
        values = {"status": self.tab, "kind": self.kind, "page": self.page, **changes}
        if "status" in changes or "kind" in changes:
            values["page"] = changes.get("page", 1)
        parts = [f"status={values['status']}"]
        if values["kind"]:
            parts.append(f"kind={values['kind']}")
        if int(values["page"]) > 1:
            parts.append(f"page={values['page']}")
        return "&".join(parts)


def search_params(
    work: WorkContext, filters: Filters, today: dt.date, page_size: int = PAGE_SIZE
) -> list[tuple[str, str]]:
    """The Task search of one page of the unit's queue."""
    params = [("owner", f"Organization/{work.unit_id}")]
    if filters.tab == "closed":
        since = today - dt.timedelta(days=RECENT_DAYS)
        params += [("status", ",".join(sorted(model.CLOSED))), ("modified", f"ge{since}")]
        params.append(("_sort", "-modified"))
    else:
        params += [("status", ",".join(sorted(model.OPEN))), ("_sort", "due")]
    if filters.tab == "mine":
        params.append(("assignee", f"PractitionerRole/{work.role_id}"))
    elif filters.tab == "overdue":
        params.append(("due", f"lt{today.isoformat()}"))
    elif filters.tab == "escalated":
        params.append(("_tag", f"{model.STATE_SYSTEM}|{model.ESCALATED_TAG['code']}"))
    if filters.kind:
        params.append(("code", f"{model.CODE_SYSTEM}|{filters.kind}"))
    params += [
        ("_count", str(page_size)),
        ("_offset", str((filters.page - 1) * page_size)),
        ("_total", "none"),
    ]
    return params


@dataclass(frozen=True, slots=True)
class Clock:
    """Where an item stands against its due date."""

    state: str  #: ``none`` (no due date), ``left``, ``today`` or ``over``
    days: int = 0  #: working days left (``left``), or calendar days over (``over``)

    @property
    def over(self) -> bool:
        return self.state == "over"


def clock(task: Resource, today: dt.date) -> Clock:
    """The item's clock on ``today``: working days left to its due date (Norwegian
    public holidays skipped), due today, or the days it is over."""
    due = _date(model.due_of(task))
    if due is None:
        return Clock("none")
    if due < today:
        return Clock("over", (today - due).days)
    if due == today:
        return Clock("today")
    kind = model.kind_of(task)
    left = None
    if kind in (model.REFERRAL_ASSESSMENT, model.WAITING_LIST):
        left = referral.clock(task, today)
    if left is None:
        left = working_days_between(today, due)
    # A due date on a weekend or holiday after today has no working day left before it.
    return Clock("left", left) if left > 0 else Clock("today")


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(OSLO).date()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Row:
    """One work item as a queue row (and as the item page's heading)."""

    id: str
    version: int
    kind: str
    kind_label: str
    description: str
    status: str
    open: bool
    patient_id: str | None
    patient_name: str
    national_id: str
    received: str
    due: str | None
    clock: Clock
    assignee: str | None  #: ``PractitionerRole/id``
    assignee_name: str
    mine: bool
    escalated: bool
    urgent: bool
    closed_label: str
    closed_reason: str
    closed_by: str
    closed_at: str
    sender: str = ""  #: the unit the item came from (a message's sender, a referrer)

    @property
    def failure(self) -> bool:
        return self.kind == model.DELIVERY_FAILURE


def national_id(patient: Resource | None) -> str:
    for system in (FNR_SYSTEM, DNR_SYSTEM):
        for ident in (patient or {}).get("identifier") or ():
            if ident.get("system") == system and ident.get("value"):
                return str(ident["value"])
    return ""


def row(
    task: Resource, version: int, patient: Resource | None, work: WorkContext, today: dt.date
) -> Row:
    """The row of ``task`` (its patient, when the user may see them)."""
    kind = model.kind_of(task) or ""
    patient_id = _patient_id(task)
    assignee_value = model.extension_value(task, model.ASSIGNEE_URL)
    assignee = assignee_value.get("reference") if isinstance(assignee_value, dict) else None
    assignee_name = str((assignee_value or {}).get("display") or "") if assignee else ""
    closed_by = model.extension_value(task, model.CLOSED_BY_URL)
    received = _received(task)
    is_open = model.is_open(task)
    tags = (task.get("meta") or {}).get("tag") or ()
    return Row(
        id=str(task.get("id")),
        version=version,
        kind=kind,
        kind_label=KIND_LABELS.get(kind, kind),
        description=str(task.get("description") or ""),
        status=str(task.get("status") or ""),
        open=is_open,
        patient_id=patient_id,
        patient_name=person_name(patient) if patient else "",
        national_id=national_id(patient),
        received=received,
        due=model.due_of(task),
        clock=clock(task, today) if is_open else Clock("none"),
        assignee=assignee if isinstance(assignee, str) else None,
        assignee_name=assignee_name,
        mine=assignee == f"PractitionerRole/{work.role_id}",
        escalated=is_open and any(t.get("code") == model.ESCALATED_TAG["code"] for t in tags),
        urgent=task.get("priority") in ("urgent", "asap", "stat"),
        closed_label=CLOSED_LABELS.get(str(task.get("status")), "") if not is_open else "",
        closed_reason=model.reason_text(task) if not is_open else "",
        closed_by=str((closed_by or {}).get("display") or "") if not is_open else "",
        closed_at=str(model.extension_value(task, model.CLOSED_AT_URL) or "")
        if not is_open
        else "",
    )


def _received(task: Resource) -> str:
    """When the unit received the item: a referral's stated receipt date, else when the
    item was made."""
    start = ((task.get("restriction") or {}).get("period") or {}).get("start")
    if isinstance(start, str) and start:
        return start
    return str(task.get("authoredOn") or "")


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]
    has_more: bool


def queue_page(repo: GuardedRepository, filters: Filters, today: dt.date) -> Page:
    """One page of the work context unit's queue: the Task search, then its patients in
    one search by ``_id``."""
    work = repo.ctx.actor.work
    assert work is not None
    found = repo.search("Task", search_params(work, filters, today))
    tasks = [(jsonio.loads(s.content), s.version) for s in found.matches if s.content]
    patients = patients_by_id(repo, [_patient_id(task) for task, _ in tasks])
    senders = unit_names(repo, [_requester_unit(task) for task, _ in tasks])
    rows = [
        dataclasses.replace(
            row(task, version, patients.get(_patient_id(task) or ""), work, today),
            sender=senders.get(_requester_unit(task) or "", ""),
        )
        for task, version in tasks
    ]
    return Page(rows, found.has_more)


def unit_names(repo: GuardedRepository, ids: list[str | None]) -> dict[str, str]:
    """Names of the Organizations ``ids`` (staff directory data, not a patient's: the
    look-up is not audited, as the sign-in's are not)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    found = repo.search(
        "Organization",
        [("_id", ",".join(wanted)), ("_count", str(len(wanted))), ("_total", "none")],
        audit=False,
    )
    out = {}
    for stored in found.matches:
        org = jsonio.loads(stored.content or "{}")
        out[stored.res_id] = str(org.get("name") or stored.res_id)
    return out


def _requester_unit(task: Resource) -> str | None:
    ref = str((task.get("requester") or {}).get("reference") or "")
    return ref.removeprefix("Organization/") if ref.startswith("Organization/") else None


def patients_by_id(repo: GuardedRepository, ids: list[str | None]) -> dict[str, Resource]:
    """The Patients of ``ids`` the user may see, in one search.

    By ``_id`` rather than ``_include=Task:patient``: a search by ``_id`` judges each of
    its few rows' care relation, where an include is filtered by the unit's whole set of
    patients, which for a unit with 10,000 open items costs more than the page itself."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    found = repo.search(
        "Patient", [("_id", ",".join(wanted)), ("_count", str(len(wanted))), ("_total", "none")]
    )
    return {s.res_id: jsonio.loads(s.content) for s in found.matches if s.content}


def _patient_id(task: Resource) -> str | None:
    ref = str((task.get("for") or {}).get("reference") or "")
    return (
        ref.removeprefix("Patient/") if ref.startswith("Patient/") and ref.count("/") == 1 else None
    )


#: Up to this many open items the start page counts them by kind too (each count is a
#: search whose access filter grows with the unit's open items).
COUNT_KINDS_UP_TO: Final = 500


@dataclass(frozen=True, slots=True)
class UnitCounts:
    """The start page's box: the unit's open items (by kind, for a queue of at most
    :data:`COUNT_KINDS_UP_TO`), how many are overdue and (for the unit leader)
    escalated."""

    by_kind: list[tuple[str, str, int]]  #: (kind, label, open items), kinds with items
    open: int
    overdue: int
    escalated: int


def unit_counts(repo: GuardedRepository, today: dt.date) -> UnitCounts:
    """Counts of the work context unit's open items: count-only searches, no patient
    data read (so none audited as shown)."""
    work = repo.ctx.actor.work
    assert work is not None
    base = [
        ("owner", f"Organization/{work.unit_id}"),
        ("status", ",".join(sorted(model.OPEN))),
        ("_summary", "count"),
    ]

    def count(extra: list[tuple[str, str]]) -> int:
        return repo.search("Task", [*base, *extra], audit=False).total or 0

    total = count([])
    if not total:
        return UnitCounts([], 0, 0, 0)
    by_kind = []
    if total <= COUNT_KINDS_UP_TO:
        for kind, label in KIND_LABELS.items():
            n = count([("code", f"{model.CODE_SYSTEM}|{kind}")])
            if n:
                by_kind.append((kind, label, n))
    overdue = count([("due", f"lt{today.isoformat()}")])
    # Escalation is the unit leader's view: only they get the count (a search less).
    escalated = (
        count([("_tag", f"{model.STATE_SYSTEM}|{model.ESCALATED_TAG['code']}")])
        if work.role == "unit-leader" and overdue
        else 0
    )
    return UnitCounts(by_kind, total, overdue, escalated)
