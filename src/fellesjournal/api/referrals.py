"""Referral operations (``workflows/referral.py`` holds the rules):

* ``POST ServiceRequest/[id]/$assess``: Parameters ``outcome`` (valueCode ``right``,
  ``no-right``, ``sent-on``, ``rejected``), ``deadline`` (valueDate, the frist for start
  of care; required for ``right``, after today), ``reason`` (valueString; required
  unless ``right``), ``sentOnTo`` (valueReference to an Organization; required for
  ``sent-on``). Answers 200 with Parameters ``outcome``, ``referral``, ``assessment``
  (the completed item), ``waitingList`` (for ``right``), ``newReferral`` (for
  ``sent-on``) and one ``letter`` per Communication sent.
* ``POST ServiceRequest/[id]/$start-care``: Parameters (optional) ``reason``
  (valueString, default "Helsehjelp startet") and ``date`` (valueDate, default today);
  closes the waiting-list item and completes the referral. Answers Parameters
  ``waitingList``.
* ``GET ServiceRequest/$breaches[?unit=ORG_ID][&near=N]``: the fristbrudd report as
  Parameters, one ``breach`` part per clock past or within ``near`` (default 2) working
  days of its end: ``unit`` (valueReference), ``clock`` (valueCode ``assessment`` or
  ``start-of-care``), ``status`` (valueCode ``breached`` or ``near``), ``task``,
  ``referral``, ``patient`` (valueReference), ``due`` (valueDate), ``workingDaysLeft``
  (valueInteger, negative when over) and ``external`` (valueBoolean).

Errors are OperationOutcomes: 400 bad parameters, 403/404 not the caller's, 409 nothing
(more) to do, 422 a rule broken.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fellesjournal.api import parameters
from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.fhir.errors import bad_request, error
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.workflows import referral

Resource = dict[str, Any]


def _only(req: FhirRequest, method: str, why: str) -> None:
    if req.method != method and not (method == "GET" and req.method == "HEAD"):
        exc = error(405, "not-supported", f"{why}; use {method}")
        exc.headers["Allow"] = method
        raise exc


def _params(req: FhirRequest, *, optional: bool = False) -> dict[str, Resource]:
    """The Parameters body by name (each at most once); empty for an optional body."""
    if optional and not req.body.strip():
        return {}
    return parameters.by_name(req.json_body())


def _value(params: dict[str, Resource], name: str, key: str) -> Any:
    p = params.get(name)
    if p is None:
        return None
    if key not in p:
        raise bad_request(f"'{name}' is a {key}", name)
    return p[key]


def _string(params: dict[str, Resource], name: str, key: str = "valueString") -> str | None:
    value = _value(params, name, key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"'{name}' is a {key}", name)
    return value


def _date(params: dict[str, Resource], name: str) -> date | None:
    value = _string(params, name, "valueDate")
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(
            f"'{name}' must be a full date (YYYY-MM-DD), not '{value}'", name
        ) from None


def _reference(params: dict[str, Resource], name: str) -> str | None:
    value = _value(params, name, "valueReference")
    if value is None:
        return None
    ref = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(ref, str) or not ref.startswith("Organization/") or ref.count("/") != 1:
        raise bad_request(f"'{name}' must reference an Organization (Organization/id)", name)
    return ref


def _ref(reference: str) -> Resource:
    return {"reference": reference}


def assess(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    _only(req, "POST", "$assess records an assessment")
    params = _params(req)
    unknown = set(params) - {"outcome", "deadline", "reason", "sentOnTo"}
    if unknown:
        raise bad_request(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    outcome = _string(params, "outcome", "valueCode")
    if not outcome:
        raise bad_request(
            f"'outcome' (valueCode) is required: {', '.join(referral.OUTCOMES)}", "outcome"
        )
    done = referral.assess(
        repo,
        req.path[1],
        outcome,
        deadline=_date(params, "deadline"),
        reason=_string(params, "reason"),
        sent_on_to=_reference(params, "sentOnTo"),
    )
    parts: list[Resource] = [
        {"name": "outcome", "valueCode": done.outcome},
        {"name": "referral", "valueReference": _ref(done.referral)},
        {"name": "assessment", "valueReference": _ref(done.assessment_item)},
    ]
    if done.waiting_list:
        parts.append({"name": "waitingList", "valueReference": _ref(done.waiting_list)})
    if done.new_referral:
        parts.append({"name": "newReferral", "valueReference": _ref(done.new_referral)})
    parts += [{"name": "letter", "valueReference": _ref(letter)} for letter in done.letters]
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": parts}))


def start_care(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    _only(req, "POST", "$start-care closes the waiting-list entry")
    params = _params(req, optional=True)
    unknown = set(params) - {"reason", "date"}
    if unknown:
        raise bad_request(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    task = referral.start_care(
        repo, req.path[1], reason=_string(params, "reason"), started=_date(params, "date")
    )
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "waitingList", "valueReference": _ref(task)}],
    }
    return FhirResponse(200, dumps(body))


def breaches(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    _only(req, "GET", "$breaches only reads")
    query = dict(req.query)
    near_raw = query.get("near", str(referral.NEAR_WORKING_DAYS))
    if not near_raw.isdigit():
        raise bad_request("near is a number of working days (0 or more)", "near")
    found = referral.breaches(repo, unit=query.get("unit") or None, near=int(near_raw))
    parts: list[Resource] = []
    for b in found:
        part: list[Resource] = [
            {"name": "unit", "valueReference": {"reference": b.unit, "display": b.unit_name}},
            {"name": "clock", "valueCode": b.clock},
            {"name": "status", "valueCode": "breached" if b.breached else "near"},
            {"name": "task", "valueReference": _ref(b.task)},
            {"name": "due", "valueDate": b.due[:10]},
            {"name": "workingDaysLeft", "valueInteger": b.days_left},
            {"name": "external", "valueBoolean": b.external},
        ]
        if b.referral:
            part.append({"name": "referral", "valueReference": _ref(b.referral)})
        if b.patient:
            part.append({"name": "patient", "valueReference": _ref(b.patient)})
        parts.append({"name": "breach", "part": part})
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": parts}))
