"""``Patient/{id}/$break-glass`` and ``Patient/{id}/$access-explain``.

``$break-glass`` (POST) takes a Parameters body with ``reason`` (valueCode: ``emergency``,
``consent`` or ``other``) and ``text`` (valueString, why) and answers 200 with Parameters
``granted``, ``start``, ``end`` and ``consent`` (the grant). ``$access-explain`` (GET)
answers Parameters: ``access`` (valueBoolean), ``reason``, ``basis`` (valueCode), one
``relation`` part per care relation (``kind``, ``reference``, ``detail``), ``breakGlassUntil``,
one ``block`` part per block naming the caller (``consent``, ``kind``, ``actor``,
``wholeRecord``, ``yieldsToBreakGlass``), and the role's ``reads`` and ``writes``.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.api import parameters
from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.fhir.errors import bad_request, error
from fellesjournal.service import access_ops
from fellesjournal.service.repository import GuardedRepository


def break_glass(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    if req.method != "POST":
        exc = error(405, "not-supported", "$break-glass changes access; use POST")
        exc.headers["Allow"] = "POST"
        raise exc
    params = parameters.by_name(req.json_body())
    reason = (params.get("reason") or {}).get("valueCode")
    text = (params.get("text") or {}).get("valueString")
    if not isinstance(reason, str):
        raise bad_request("'reason' (valueCode) is required: emergency, consent or other", "reason")
    if not isinstance(text, str):
        raise bad_request("'text' (valueString) is required: say why", "text")
    grant = access_ops.break_glass(repo, req.path[1], reason, text)
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "granted", "valueBoolean": True},
            {"name": "start", "valueInstant": grant.start},
            {"name": "end", "valueInstant": grant.end},
            {"name": "consent", "valueReference": {"reference": f"Consent/{grant.consent_id}"}},
        ],
    }
    return FhirResponse(200, dumps(body))


def access_explain(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    if req.method not in ("GET", "HEAD"):
        exc = error(405, "not-supported", "$access-explain only reads; use GET")
        exc.headers["Allow"] = "GET"
        raise exc
    found = access_ops.explain(repo, req.path[1])
    parts: list[dict[str, Any]] = [
        {"name": "access", "valueBoolean": found.access},
        {"name": "reason", "valueString": found.reason},
        {"name": "basis", "valueCode": found.basis},
    ]
    for rel in found.relations:
        parts.append(
            {
                "name": "relation",
                "part": [
                    {"name": "kind", "valueCode": rel.kind},
                    {"name": "reference", "valueReference": {"reference": rel.reference}},
                    {"name": "detail", "valueString": rel.detail},
                ],
            }
        )
    if found.grant_until:
        parts.append({"name": "breakGlassUntil", "valueInstant": found.grant_until})
    for block in found.blocks:
        parts.append(
            {
                "name": "block",
                "part": [
                    {
                        "name": "consent",
                        "valueReference": {"reference": f"Consent/{block.consent_id}"},
                    },
                    {"name": "kind", "valueCode": block.kind},
                    {"name": "actor", "valueReference": {"reference": block.actor}},
                    {"name": "wholeRecord", "valueBoolean": block.whole_record},
                    {"name": "yieldsToBreakGlass", "valueBoolean": block.yields_to_break_glass},
                ],
            }
        )
    parts += [{"name": "reads", "valueCode": t} for t in found.reads]
    parts += [{"name": "writes", "valueCode": t} for t in found.writes]
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": parts}))
