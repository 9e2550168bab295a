"""``/portal/results`` and ``/portal/results/{id}``: test results released to me.

A result is a DiagnosticReport with the Observations it lists; which are released
follows the HelsaMi categories (``access/release.py``). Each value is shown with its
unit, the reference range and, in plain words, whether it is outside it; the
clinician's comment made on release (the extension of :data:`COMMENT_URL`) is shown
above the values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fellesjournal.access.release import RELEASE_COMMENT_URL
from fellesjournal.fhir.errors import FhirError
from fellesjournal.portal.base import Portal, answers, page
from fellesjournal.portal.reading import (
    Resource,
    code,
    load,
    newest_first,
    read_chart,
    ref_id,
    text,
    when,
)
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.i18n import format_number

TYPES: Final = ("DiagnosticReport",)
LIMIT: Final = 200
#: The clinician's comment on releasing a result (docs/portal.md).
COMMENT_URL: Final = RELEASE_COMMENT_URL
INTERPRETATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#: Interpretation codes, grouped into what the page says in words.
HIGH: Final = frozenset({"H", ">"})
VERY_HIGH: Final = frozenset({"HH", "HU"})
LOW: Final = frozenset({"L", "<"})
VERY_LOW: Final = frozenset({"LL", "LU"})
ABNORMAL: Final = frozenset({"A", "AA", "POS", "DET"})
NORMAL: Final = frozenset({"N", "NEG", "ND"})


@dataclass(frozen=True)
class Value:
    """One measured value: name, value and unit, reference range, and the verdict
    (``normal``, ``high``, ``very-high``, ``low``, ``very-low``, ``abnormal`` or ``""``
    when nothing is known)."""

    name: str
    value: str
    unit: str
    range: str
    verdict: str
    note: str = ""

    @property
    def outside(self) -> bool:
        return self.verdict not in ("", "normal")


@dataclass
class Result:
    id: str
    title: str
    date: str
    issued: str
    performer: str
    comment: str
    conclusion: str = ""
    status: str = ""
    values: list[Value] = field(default_factory=list)


def release_comment(report: Resource) -> str:
    for ext in report.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == COMMENT_URL and ext.get("valueString"):
            return str(ext["valueString"])
    return ""


def _performer(report: Resource) -> str:
    names = [
        str(p["display"])
        for p in report.get("performer") or ()
        if isinstance(p, dict) and p.get("display")
    ]
    return ", ".join(names)


def summary(report: Resource) -> Result:
    return Result(
        id=str(report.get("id") or ""),
        title=text(report.get("code")) or text((report.get("category") or [None])[0]),
        date=when(report, "effectiveDateTime", "effectivePeriod", "issued"),
        issued=str(report.get("issued") or ""),
        performer=_performer(report),
        comment=release_comment(report),
        conclusion=str(report.get("conclusion") or ""),
        status=str(report.get("status") or ""),
    )


def _number(value: Any) -> str:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format_number(value)
    return ""


def _quantity(q: Any) -> tuple[str, str]:
    if not isinstance(q, dict):
        return "", ""
    shown = _number(q.get("value"))
    comparator = str(q.get("comparator") or "")
    return (comparator + shown if shown else ""), str(q.get("unit") or q.get("code") or "")


def _range(obs: Resource) -> str:
    for rng in obs.get("referenceRange") or ():
        if not isinstance(rng, dict):
            continue
        if rng.get("text"):
            return str(rng["text"])
        low, _u = _quantity(rng.get("low"))
        high, _u = _quantity(rng.get("high"))
        if low and high:
            return f"{low}–{high}"
        if high:
            return f"≤ {high}"
        if low:
            return f"≥ {low}"
    return ""


def _verdict(obs: Resource) -> str:
    flags = {code(c, INTERPRETATION) or code(c) for c in obs.get("interpretation") or ()}
    for codes, verdict in (
        (VERY_HIGH, "very-high"),
        (VERY_LOW, "very-low"),
        (HIGH, "high"),
        (LOW, "low"),
        (ABNORMAL, "abnormal"),
        (NORMAL, "normal"),
    ):
        if flags & codes:
            return verdict
    return _by_range(obs)


def _by_range(obs: Resource) -> str:
    """The verdict from the value and the range, when no interpretation is given."""
    value = (obs.get("valueQuantity") or {}).get("value")
    ranges = [r for r in obs.get("referenceRange") or () if isinstance(r, dict)]
    if not isinstance(value, int | float | Decimal) or not ranges:
        return ""
    low = (ranges[0].get("low") or {}).get("value")
    high = (ranges[0].get("high") or {}).get("value")
    if isinstance(high, int | float | Decimal) and value > high:
        return "high"
    if isinstance(low, int | float | Decimal) and value < low:
        return "low"
    return "normal"


def value_of(obs: Resource) -> Value:
    if "valueQuantity" in obs:
        shown, unit = _quantity(obs["valueQuantity"])
    elif "valueCodeableConcept" in obs:
        shown, unit = text(obs["valueCodeableConcept"]), ""
    elif "valueString" in obs:
        shown, unit = str(obs["valueString"]), ""
    elif "valueInteger" in obs:
        shown, unit = _number(obs["valueInteger"]), ""
    else:
        shown, unit = "", ""
    notes = [str(n["text"]) for n in obs.get("note") or () if isinstance(n, dict) and n.get("text")]
    return Value(text(obs.get("code")), shown, unit, _range(obs), _verdict(obs), " ".join(notes))


def list_results(repo: GuardedRepository, patient_id: str) -> list[Result]:
    _patient, found = read_chart(repo, patient_id, TYPES, f"portal/results/{patient_id}")
    reports = newest_first(found["DiagnosticReport"], "effectiveDateTime", "issued")[:LIMIT]
    return [summary(r) for r in reports if r.get("status") != "entered-in-error"]


def load_result(repo: GuardedRepository, report_id: str) -> Result:
    """The report and its released values (404 when the report is not released to the
    actor; values not released to them are left out)."""
    with repo.reading() as tx:
        stored = repo.read("DiagnosticReport", report_id, tx, audit=False)
        report = load(stored)
        result = summary(report)
        shown = [stored]
        for ref in report.get("result") or ():
            obs_id = ref_id(ref, "Observation")
            if obs_id is None:
                continue
            try:
                found = repo.read("Observation", obs_id, tx, audit=False)
            except FhirError as exc:
                if exc.status in (404, 410):
                    continue  # not released to the actor (or gone): left out
                raise
            shown.append(found)
            result.values.append(value_of(load(found)))
        repo.gate.disclosed(tx, "read", shown, query=f"portal/results/{report_id}")
    repo.trail.flush()
    return result


def routes(portal: Portal) -> list[BaseRoute]:
    @answers
    async def results(request: Request) -> Response:
        repo = portal.repository(request)
        portal.require(request, "read")
        found = list_results(repo, portal.patient_id(request))
        return page(request, "portal/results.html", results=found)

    @answers
    async def result(request: Request) -> Response:
        repo = portal.repository(request)
        portal.require(request, "read")
        shown = load_result(repo, str(request.path_params["report_id"]))
        return page(request, "portal/result.html", result=shown)

    return [
        Route("/portal/results", results),
        Route("/portal/results/{report_id}", result),
    ]
