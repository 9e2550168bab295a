"""MPI operations: ``Patient/$merge`` and ``Patient/$duplicates``.

``$merge`` follows the FHIR R5 patient-merge operation's parameters
(https://hl7.org/fhir/R5/patient-operation-merge.html): ``source-patient`` or
``source-patient-identifier``, ``target-patient`` or ``target-patient-identifier``,
``result-patient``, ``preview``; it answers Parameters with ``input``, ``outcome`` and
``result``. ``$duplicates`` lists duplicate candidates as Parameters, one ``candidate``
part per pair, with both patients and the reason.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, Issue, bad_request, operation_outcome
from fellesjournal.mpi.duplicates import duplicates
from fellesjournal.mpi.identity import is_superseded
from fellesjournal.mpi.merge import merge_patients
from fellesjournal.search.fhirpath import split_reference
from fellesjournal.search.params import escape
from fellesjournal.service.repository import GuardedRepository


def _unprocessable(message: str, expression: str) -> FhirError:
    return FhirError(422, [Issue("error", "processing", message, expression)])


def _parameters(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise bad_request("the body must be a Parameters resource")
    params = body.get("parameter", [])
    if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
        raise bad_request("Parameters.parameter must be a list of parameters")
    return params


def _one(params: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    found = [p for p in params if p.get("name") == name]
    if len(found) > 1:
        raise bad_request(f"'{name}' may be given once", name)
    return found[0] if found else None


def _patient_id(repo: GuardedRepository, params: list[dict[str, Any]], role: str) -> str:
    """The id named by ``{role}`` (a Reference) or ``{role}-identifier`` (Identifiers)."""
    ref_param = _one(params, role)
    idents = [p for p in params if p.get("name") == f"{role}-identifier"]
    if ref_param and idents:
        raise bad_request(f"give '{role}' or '{role}-identifier', not both", role)
    if ref_param:
        ref = (ref_param.get("valueReference") or {}).get("reference")
        if not isinstance(ref, str):
            raise bad_request(f"'{role}' must be a valueReference to a Patient", role)
        rtype, rid = split_reference(ref, repo.store.registry.resource_types)
        if rtype != "Patient" or rid is None:
            raise bad_request(f"'{role}' must reference a Patient, not '{ref}'", role)
        return rid
    if not idents:
        raise bad_request(f"'{role}' or '{role}-identifier' is required", role)
    matches: set[str] | None = None
    for p in idents:
        ident = p.get("valueIdentifier") or {}
        system, value = ident.get("system"), ident.get("value")
        if not isinstance(system, str) or not isinstance(value, str):
            raise bad_request(f"'{role}-identifier' needs a system and a value", role)
        result = repo.search("Patient", [("identifier", f"{escape(system)}|{escape(value)}")])
        ids = {
            m.res_id
            for m in result.matches
            if m.content and not is_superseded(jsonio.loads(m.content))
        }
        matches = ids if matches is None else matches & ids
    if not matches:
        raise _unprocessable(f"no patient has the {role}-identifier given", f"{role}-identifier")
    if len(matches) > 1:
        raise _unprocessable(
            f"the {role}-identifier matches {len(matches)} patients", f"{role}-identifier"
        )
    return matches.pop()


def patient_merge(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    if req.method != "POST":
        raise FhirError(
            405,
            [Issue("error", "not-supported", "Patient/$merge changes data: use POST")],
            {"Allow": "POST"},
        )
    body = req.json_body()
    params = _parameters(body)
    source_id = _patient_id(repo, params, "source-patient")
    target_id = _patient_id(repo, params, "target-patient")
    preview_param = _one(params, "preview")
    preview = bool(preview_param and preview_param.get("valueBoolean") is True)
    result_param = _one(params, "result-patient")
    result_patient = result_param.get("resource") if result_param else None
    if result_param and not isinstance(result_patient, dict):
        raise bad_request("'result-patient' must hold a Patient resource", "result-patient")
    result = merge_patients(
        repo, source_id, target_id, preview=preview, result_patient=result_patient
    )
    target = result.target
    if isinstance(target, dict):
        shown = repo.disclose_resource(target)
    else:
        shown = jsonio.loads(repo.disclose(target).content or "{}")
    out = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "input", "resource": body},
            {
                "name": "outcome",
                "resource": operation_outcome(
                    [Issue("information", "informational", result.summary)]
                ),
            },
            {"name": "result", "resource": shown},
        ],
    }
    return FhirResponse(200, dumps(out))


def patient_duplicates(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    repo.guard("operation", "Patient")
    parts = []
    for c in duplicates(repo):
        parts.append(
            {
                "name": "candidate",
                "part": [
                    {
                        "name": "patient",
                        "valueReference": {
                            "reference": f"Patient/{c.a.id}",
                            "display": c.a.display,
                        },
                    },
                    {
                        "name": "patient",
                        "valueReference": {
                            "reference": f"Patient/{c.b.id}",
                            "display": c.b.display,
                        },
                    },
                    {"name": "reason", "valueCode": c.reason},
                ],
            }
        )
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": parts}))
