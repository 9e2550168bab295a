"""``GET Patient/[id]/$summary``: the patient summary as an IPS document Bundle.

The International Patient Summary's operation
(https://hl7.org/fhir/uv/ips/OperationDefinition-summary.html) on one patient: a Bundle
of type ``document`` made by :func:`fellesjournal.portal.export.ips_bundle`, through the
request's guarded repository, so it holds what the caller may see and nothing else (for
a citizen: what is released to them, the same as the portal's download). 404 when the
caller may not see the patient. The IPS ``identifier`` and ``profile`` parameters are
not supported: the patient is the instance, and the summary has one shape.
"""

from __future__ import annotations

from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.fhir.errors import bad_request
from fellesjournal.portal.export import ips_bundle
from fellesjournal.service.repository import GuardedRepository


def patient_summary(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    if req.method == "POST" and req.body.strip():
        raise bad_request("$summary takes no parameters on a Patient instance")
    for key, _value in req.query:
        if not key.startswith("_"):
            raise bad_request(f"$summary takes no parameter '{key}'", key)
    repo.guard("operation", "Patient")
    return FhirResponse(200, dumps(ips_bundle(repo, req.path[1], base=base)))
