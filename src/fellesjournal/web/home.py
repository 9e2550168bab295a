"""The start page of a work context: the unit's patients today, and the search.

What the unit has now: patients with an Encounter in progress at the unit (the ward
list), today's Appointments at the unit, the patients in the unit's active
EpisodesOfCare (home care), and at a GP office the patients listed with the office or
the doctor (fastlegeliste). The unit's work queues are a box of counts (open items by kind,
overdue, escalated) linking to ``/queues`` (``web/queue_data.py``). Every list is a
guarded search as the signed-in health worker.
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from fellesjournal.access import roles
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.directory import person_name
from fellesjournal.web.queue_data import today_in_oslo, unit_counts
from fellesjournal.web.render import render
from fellesjournal.web.workspace import Workspace, answers

OSLO = ZoneInfo("Europe/Oslo")
LIST_SIZE = 50


class Home:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @answers
    async def page(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        work = repo.ctx.actor.work
        assert work is not None
        unit = f"Organization/{work.unit_id}"
        today = datetime.datetime.now(OSLO).date().isoformat()
        admitted = _with_patients(
            repo,
            "Encounter",
            [("service-provider", unit), ("status", "in-progress"), ("_count", str(LIST_SIZE))],
            "subject",
        )
        appointments = _with_patients(
            repo,
            "Appointment",
            [("actor", unit), ("date", today), ("_count", str(LIST_SIZE))],
            "patient",
        )
        gp_list = [
            {"patient": row["resource"], "name": row["name"]}
            for row in _with_patients(
                repo,
                "Patient",
                [
                    ("general-practitioner", f"{unit},Practitioner/{work.practitioner_id}"),
                    ("_sort", "family"),
                    ("_count", str(LIST_SIZE)),
                ],
                "",
            )
        ]
        home_care = _with_patients(
            repo,
            "EpisodeOfCare",
            [("organization", unit), ("status", "active"), ("_count", str(LIST_SIZE))],
            "patient",
        )
        queues = (
            unit_counts(repo, today_in_oslo()) if roles.allows(work.role, "read", "Task") else None
        )
        return render(
            request,
            "home.html",
            queues=queues,
            admitted=admitted,
            appointments=appointments,
            home_care=home_care,
            gp_list=gp_list,
        )


def _with_patients(
    repo: GuardedRepository, res_type: str, items: list[tuple[str, str]], subject: str
) -> list[dict[str, Any]]:
    """Rows of ``res_type`` with their patient (``_include``d in the same search); none
    when the user's role does not read ``res_type`` (the privacy officer)."""
    include = [("_include", f"{res_type}:{subject}")] if subject else []
    try:
        # No total: the page lists what it shows, and counting is most of a search's
        # time on a long list (a fastlege's 1,000 patients).
        found = repo.search(res_type, [*items, *include, ("_total", "none")])
    except FhirError as exc:
        if exc.status == 403:
            return []
        raise
    patients = {
        r.res_id: jsonio.loads(r.content)
        for r in [*found.included, *found.matches]
        if r.res_type == "Patient" and r.content
    }
    rows = []
    for stored in found.matches:
        if not stored.content:
            continue
        resource = jsonio.loads(stored.content)
        ref = _patient_ref(resource)
        patient = patients.get(ref or "")
        if patient is None:
            continue
        rows.append({"resource": resource, "patient": patient, "name": person_name(patient)})
    return rows


def _patient_ref(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            return str(ref["reference"]).removeprefix("Patient/")
    for participant in resource.get("participant") or ():
        ref = str((participant.get("actor") or {}).get("reference", ""))
        if ref.startswith("Patient/"):
            return ref.removeprefix("Patient/")
    return None
