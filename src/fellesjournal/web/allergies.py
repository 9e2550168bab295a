"""Adding an allergy or intolerance (or "no known allergies"), and ending one.

``/patients/{id}/allergies`` lists the active entries and offers the form: a substance
from a short list (coded) or typed, allergy or intolerance, criticality, reaction and
severity, confirmed or not; ticking "critical information" also records a Flag in
Kjernejournal's category for hypersensitivity reactions, pointing to the allergy, in the
same transaction. Saving a real allergy ends an active "no known allergies"; recording
"no known allergies" is refused while real ones are active.

``/patients/{id}/allergies/{allergy}/end`` makes it inactive, refuted or entered in
error, with a required reason, who and when; never a deletion. The form carries the
version it showed: a change made meanwhile answers 409. A critical-information Flag
that points to the allergy ends with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fellesjournal.clinical import allergies as al
from fellesjournal.clinical import critical_info as ci
from fellesjournal.fhir import jsonio
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web import record_changes as rc
from fellesjournal.web.render import render
from fellesjournal.web.workspace import Workspace, answers

TYPE = "AllergyIntolerance"


def _active(repo: GuardedRepository, patient_id: str, tx: Any = None) -> list[Any]:
    """The patient's active entries (stored), as the user may see them."""
    query = [("patient", f"Patient/{patient_id}"), ("clinical-status", "active")]
    return list(repo.search(TYPE, query, tx, audit=tx is None).matches)


def _entries(stored: list[Any]) -> list[dict[str, Any]]:
    return [jsonio.loads(s.content) for s in stored if s.content]


def _input(form: Mapping[str, Any]) -> al.AllergyInput:
    return al.AllergyInput(
        substance=rc.line(form, "substance"),
        type=rc.line(form, "type") or "allergy",
        category=rc.line(form, "category"),
        criticality=rc.line(form, "criticality") or "unable-to-assess",
        verification=rc.line(form, "verification") or "unconfirmed",
        manifestation=rc.line(form, "manifestation"),
        severity=rc.line(form, "severity"),
        critical=rc.line(form, "critical") == "1",
    )


class AllergyPages:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _page(
        self, request: Request, repo: GuardedRepository, patient_id: str, **context: Any
    ) -> Response:
        status = context.pop("status_code", 200)
        current = _entries(_active(repo, patient_id))
        return render(
            request,
            "allergy.html",
            status_code=status,
            patient_id=patient_id,
            current=current,
            substances=al.SUBSTANCES,
            **{"form": {}, "errors": [], **context},
        )

    @answers
    async def add(self, request: Request) -> Response:
        repo, patient_id = rc.chart_to_write(self.ws, request, TYPE)
        if request.method == "GET":
            critical = request.query_params.get("critical") == "1"
            shown = {"critical": "1", "criticality": "high"} if critical else {}
            return self._page(request, repo, patient_id, form=shown)
        form = await rc.posted(request)
        if rc.line(form, "nka") == "1":
            return self._no_known(request, repo, patient_id)
        entry = _input(form)
        errors = al.check(entry)
        if errors:
            return self._page(
                request, repo, patient_id, status_code=400, form=rc.typed(form), errors=errors
            )
        who, when = rc.author(repo, request), rc.now()
        body = al.allergy_intolerance(entry, patient_id, who, when)
        with repo.writing() as tx:
            created = repo.create(TYPE, body, tx=tx)
            for stored in _active(repo, patient_id, tx):
                old = jsonio.loads(stored.content or "{}")
                if al.is_no_known_allergy(old):
                    note = "Allergi registrert"
                    new = al.ended(old, "inactive", note, who, when)
                    repo.update(TYPE, stored.res_id, new, if_match=stored.version, tx=tx)
            if entry.critical:
                ref = f"{TYPE}/{created.stored.res_id}"
                flag = ci.allergy_flag(body, ref, al.name(body), patient_id, who, rc.today())
                repo.create("Flag", flag, tx=tx)
        return rc.to_chart(patient_id)

    def _no_known(self, request: Request, repo: GuardedRepository, patient_id: str) -> Response:
        with repo.writing() as tx:
            current = _entries(_active(repo, patient_id, tx))
            refused = any(not al.is_no_known_allergy(a) for a in current)
            if not current:
                who = rc.author(repo, request)
                repo.create(TYPE, al.no_known_allergies(patient_id, who, rc.now()), tx=tx)
        if refused:
            return self._page(request, repo, patient_id, status_code=400, errors=["nka"])
        return rc.to_chart(patient_id)

    @answers
    async def end(self, request: Request) -> Response:
        repo, patient_id = rc.chart_to_write(self.ws, request, TYPE)
        allergy_id = str(request.path_params["allergy_id"])
        stored, body = rc.read_in_chart(request, repo, TYPE, allergy_id, patient_id, "patient")
        page: dict[str, Any] = {
            "patient_id": patient_id,
            "allergy_id": allergy_id,
            "version": stored.version,
            "name": al.name(body),
        }

        def end(how: str, reason: str, version: int) -> None:
            who, when = rc.author(repo, request), rc.now()
            with repo.writing() as tx:
                new = al.ended(body, how, reason, who, when)
                repo.update(TYPE, allergy_id, new, if_match=version, tx=tx)
                self._end_flags(repo, tx, patient_id, f"{TYPE}/{allergy_id}", how, reason, who)

        return await rc.end_with_reason(
            request,
            "allergy_end.html",
            page,
            active=al.is_active(body),
            endings=al.ENDINGS,
            end=end,
        )

    @staticmethod
    def _end_flags(
        repo: GuardedRepository,
        tx: Any,
        patient_id: str,
        ref: str,
        how: str,
        reason: str,
        who: dict[str, str],
    ) -> None:
        """End the active critical-information Flags that point to ``ref``."""
        query = [("subject", f"Patient/{patient_id}"), ("status", "active")]
        for stored in repo.search("Flag", query, tx, audit=False).matches:
            flag = jsonio.loads(stored.content or "{}")
            if ci.detail_of(flag) == ref:
                flag_how = "entered-in-error" if how == "entered-in-error" else "inactive"
                new = ci.ended(flag, flag_how, reason, who, rc.now())
                repo.update("Flag", stored.res_id, new, if_match=stored.version, tx=tx)
