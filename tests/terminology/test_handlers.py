"""The terminology handlers called directly: access checks, and answers without routing."""

from __future__ import annotations

import pytest

from fellesjournal.access.actor import Actor
from fellesjournal.api import terminology as api
from fellesjournal.api.request import FhirRequest
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.terminology import ICD10_NO, ICPC2

BASE = "http://testserver/fhir"


def _repo(store: SqlStore, settings: Settings, *scopes: str) -> GuardedRepository:
    actor = Actor("system", "test", scopes=scopes)
    return GuardedRepository(store, settings, RequestContext(actor=actor))


def _get(res_type: str, op: str, **query: str) -> FhirRequest:
    return FhirRequest("GET", [res_type, f"${op}"], list(query.items()))


def test_each_handler_asks_for_its_own_resource_type(store: SqlStore, settings: Settings) -> None:
    only_codesystem = _repo(store, settings, "system/CodeSystem.read")
    lookup = _get("CodeSystem", "lookup", system=ICPC2, code="R96")
    assert api.codesystem_lookup(lookup, only_codesystem, BASE).status == 200
    expand = _get("ValueSet", "expand", url=ICPC2)
    with pytest.raises(FhirError) as exc:
        api.valueset_expand(expand, only_codesystem, BASE)
    assert exc.value.status == 403
    nothing = _repo(store, settings, "system/Patient.read")
    for handler, req in [
        (api.codesystem_lookup, lookup),
        (api.validate_code, _get("CodeSystem", "validate-code", url=ICPC2, code="R96")),
        (api.validate_code, _get("ValueSet", "validate-code", url=ICPC2, code="R96")),
    ]:
        with pytest.raises(FhirError) as exc:
            handler(req, nothing, BASE)
        assert exc.value.status == 403


def test_validate_code_dispatches_on_the_resource_type(repo: GuardedRepository) -> None:
    # CodeSystem/$validate-code takes the system as url; ValueSet/$validate-code a value set
    cs = api.validate_code(
        _get("CodeSystem", "validate-code", url=ICD10_NO, code="A000"), repo, BASE
    )
    vs = api.validate_code(
        _get("ValueSet", "validate-code", url=ICD10_NO + "?fhir_vs", code="A000"), repo, BASE
    )
    for resp in (cs, vs):
        assert resp.status == 200
        assert jsonio.loads(resp.body)["parameter"][0] == {"name": "result", "valueBoolean": True}
    with pytest.raises(FhirError) as exc:  # "?fhir_vs" names a value set, not a code system
        api.validate_code(
            _get("CodeSystem", "validate-code", url=ICD10_NO + "?fhir_vs", code="A000"), repo, BASE
        )
    assert exc.value.status == 404
