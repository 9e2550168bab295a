"""Review: every way of writing a Patient keeps national identifiers unique (or not).

The bypasses found in review (a self-declared merged-away record, a system URN in upper
case, a preview more lenient than the merge) are fixed; these tests keep them fixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.service.importer import run_import
from tests.mpi.people import fresh_dnr, fresh_fnr, patient
from tests.review.helpers import unique

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def _create(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    res = client.post("/fhir/Patient", json=body)
    assert res.status_code == 201, res.text
    return res.json()


def _holders(client: Any, fnr: str) -> list[str]:
    bundle = client.get(
        "/fhir/Patient", params={"identifier": f"{FNR_SYSTEM}|{fnr}", "_count": "50"}
    ).json()
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def _standing(client: Any, fnr: str) -> list[str]:
    """Holders that are not merged away (what the uniqueness rule counts)."""
    out = []
    for pid in _holders(client, fnr):
        res = client.get(f"/fhir/Patient/{pid}").json()
        merged = res.get("active") is False and any(
            link.get("type") == "replaced-by" for link in res.get("link", [])
        )
        if not merged:
            out.append(pid)
    return out


def _merge(client: Any, source: str, target: str, **extra: Any) -> Any:
    params: list[dict[str, Any]] = [
        {"name": "source-patient", "valueReference": {"reference": f"Patient/{source}"}},
        {"name": "target-patient", "valueReference": {"reference": f"Patient/{target}"}},
    ]
    for name, value in extra.items():
        params.append({"name": name.replace("_", "-"), **value})
    return client.post(
        "/fhir/Patient/$merge", json={"resourceType": "Parameters", "parameter": params}
    )


# -- safe paths ----------------------------------------------------------------------------


def test_transaction_put_and_conditional_forms_are_checked(client: Any) -> None:
    fnr = fresh_fnr()
    holder = _create(client, patient(fnr))["id"]
    other = fresh_fnr()
    entries = [
        # update-as-create with a client id
        {"request": {"method": "PUT", "url": f"Patient/{unique('tx-')}"}, "resource": None},
        # conditional update that matches nothing, so creates
        {
            "request": {"method": "PUT", "url": f"Patient?identifier={FNR_SYSTEM}|{other}"},
            "resource": patient(fnr),
        },
        # POST with an ifNoneExist that matches nothing
        {
            "request": {
                "method": "POST",
                "url": "Patient",
                "ifNoneExist": f"identifier={FNR_SYSTEM}|{other}",
            },
            "resource": patient(fnr),
        },
    ]
    entries[0]["resource"] = {**patient(fnr), "id": entries[0]["request"]["url"].split("/")[1]}
    for entry in entries:
        obs = {
            "fullUrl": "urn:uuid:6a1e0f3e-2d1c-4b7a-8e55-1f2a3b4c5d6e",
            "request": {"method": "POST", "url": "Observation"},
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "subject": {"reference": f"Patient?identifier={FNR_SYSTEM}|{fnr}"},
            },
        }
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry, obs]}
        res = client.post("/fhir", json=bundle)
        assert res.status_code == 409, (entry["request"], res.status_code, res.text)
    assert _holders(client, fnr) == [holder]


def test_batch_entries_are_checked_each(client: Any) -> None:
    fnr = fresh_fnr()
    _create(client, patient(fnr))
    fresh = fresh_fnr()
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "POST", "url": "Patient"}, "resource": patient(fnr)},
            {"request": {"method": "POST", "url": "Patient"}, "resource": patient(fresh)},
            {"request": {"method": "POST", "url": "Patient"}, "resource": patient(fresh)},
        ],
    }
    res = client.post("/fhir", json=bundle)
    assert res.status_code == 200
    statuses = [e["response"]["status"][:3] for e in res.json()["entry"]]
    assert statuses == ["409", "201", "409"]
    assert len(_holders(client, fnr)) == 1 and len(_holders(client, fresh)) == 1


def test_patch_adding_a_held_identifier_is_409(client: Any) -> None:
    fnr = fresh_fnr()
    _create(client, patient(fnr))
    pid = _create(client, patient(fresh_fnr()))["id"]
    for ident in (
        {"system": FNR_SYSTEM, "value": fnr},
        {"system": FNR_SYSTEM, "value": fnr, "use": "old"},
        {"system": "http://hl7.no/fhir/NamingSystem/FNR", "value": fnr, "use": "secondary"},
    ):
        res = client.patch(
            f"/fhir/Patient/{pid}",
            json=[{"op": "add", "path": "/identifier/-", "value": ident}],
            headers=JSON_PATCH,
        )
        assert res.status_code == 409, (ident, res.text)


def test_alias_systems_count_both_ways(client: Any) -> None:
    dnr = fresh_dnr()
    alias = {"system": "http://hl7.no/fhir/NamingSystem/DNR", "value": dnr}
    _create(client, {**patient(), "identifier": [alias]})
    res = client.post(
        "/fhir/Patient", json={**patient(), "identifier": [{"system": DNR_SYSTEM, "value": dnr}]}
    )
    assert res.status_code == 409, res.text


def test_whitespace_in_the_value_or_system_is_refused(client: Any) -> None:
    fnr = fresh_fnr()
    _create(client, patient(fnr))
    for ident in (
        {"system": FNR_SYSTEM, "value": f" {fnr}"},
        {"system": FNR_SYSTEM, "value": f"{fnr} "},
        {"system": f"{FNR_SYSTEM} ", "value": fnr},
        {"system": f" {FNR_SYSTEM}", "value": fnr},
    ):
        res = client.post("/fhir/Patient", json={**patient(), "identifier": [ident]})
        assert res.status_code in (400, 409, 422), (ident, res.status_code)


def test_import_checks_across_files_in_one_commit(repo: Any, tmp_path: Path) -> None:
    fnr = fresh_fnr()
    (tmp_path / "a.ndjson").write_text(json.dumps(patient(fnr)) + "\n")
    (tmp_path / "b.ndjson").write_text(json.dumps(patient(fnr, given="Kopi")) + "\n")
    (tmp_path / "c.json").write_text(json.dumps(patient(fnr, given="Enkel")))
    both = patient(fnr, given="Bunt")
    (tmp_path / "d.json").write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "batch",
                "entry": [{"request": {"method": "POST", "url": "Patient"}, "resource": both}],
            }
        )
    )
    summary = run_import(repo, [tmp_path])
    assert [f.path.name for f in summary.failed] == ["b.ndjson", "c.json", "d.json"]
    assert all(
        "409" in (f.error or "") or "already holds" in (f.error or "") for f in summary.failed
    )
    assert len(repo.search("Patient", [("identifier", f"{FNR_SYSTEM}|{fnr}")]).matches) == 1


def test_merge_result_patient_cannot_carry_another_persons_number(client: Any) -> None:
    family = unique("Resultat")
    third = fresh_fnr()
    _create(client, patient(third, family=family))
    source = _create(client, patient(fresh_fnr(), family=family))
    target = _create(client, patient(fresh_fnr(), family=family))
    result = {
        **target,
        "identifier": [*target["identifier"], {"system": FNR_SYSTEM, "value": third}],
    }
    res = _merge(client, source["id"], target["id"], result_patient={"resource": result})
    assert res.status_code == 409, res.text
    assert client.get(f"/fhir/Patient/{source['id']}").json().get("active") is not False
    assert len(_standing(client, third)) == 1


def test_merged_source_cannot_be_revived_while_the_target_holds_its_number(client: Any) -> None:
    family = unique("Gjenoppliv")
    fnr_s = fresh_fnr()
    source = _create(client, patient(fnr_s, family=family))
    target = _create(client, patient(fresh_fnr(), family=family))
    assert _merge(client, source["id"], target["id"]).status_code == 200
    merged = client.get(f"/fhir/Patient/{source['id']}").json()
    revived = {**merged, "active": True}
    assert client.put(f"/fhir/Patient/{source['id']}", json=revived).status_code == 409
    unlinked = {k: v for k, v in merged.items() if k != "link"}
    assert client.put(f"/fhir/Patient/{source['id']}", json=unlinked).status_code == 409
    res = client.patch(
        f"/fhir/Patient/{source['id']}",
        json=[{"op": "replace", "path": "/active", "value": True}],
        headers=JSON_PATCH,
    )
    assert res.status_code == 409
    assert _standing(client, fnr_s) == [target["id"]]
    # merging the target away again is still refused for the superseded source
    assert _merge(client, source["id"], target["id"]).status_code == 422


def test_use_old_counts(client: Any) -> None:
    fnr = fresh_fnr()
    _create(client, patient(fnr))
    body = {**patient(), "identifier": [{"system": FNR_SYSTEM, "value": fnr, "use": "old"}]}
    assert client.post("/fhir/Patient", json=body).status_code == 409


# -- bypasses ------------------------------------------------------------------------------


def test_self_declared_merged_away_patient_escapes_the_check(client: Any) -> None:
    fnr = fresh_fnr()
    holder = _create(client, patient(fnr))["id"]
    fake = {
        **patient(fnr, given="Duplikat"),
        "active": False,
        "link": [{"other": {"reference": "Patient/does-not-exist"}, "type": "replaced-by"}],
    }
    res = client.post("/fhir/Patient", json=fake)
    assert res.status_code == 409, (holder, res.status_code)


def test_system_in_upper_case_escapes_the_check(client: Any) -> None:
    fnr = fresh_fnr()
    _create(client, patient(fnr))
    upper = {**patient(), "identifier": [{"system": FNR_SYSTEM.upper(), "value": fnr}]}
    res = client.post("/fhir/Patient", json=upper)
    assert res.status_code in (409, 422), res.status_code


def test_merge_preview_agrees_with_the_real_merge(client: Any) -> None:
    family = unique("Forhand")
    third = fresh_fnr()
    _create(client, patient(third, family=family))
    source = _create(client, patient(fresh_fnr(), family=family))
    target = _create(client, patient(fresh_fnr(), family=family))
    result = {
        **target,
        "identifier": [*target["identifier"], {"system": FNR_SYSTEM, "value": third}],
    }
    preview = _merge(
        client,
        source["id"],
        target["id"],
        result_patient={"resource": result},
        preview={"valueBoolean": True},
    )
    real = _merge(client, source["id"], target["id"], result_patient={"resource": result})
    assert real.status_code == 409
    assert preview.status_code == real.status_code
