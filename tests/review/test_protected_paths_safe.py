"""Review: read paths that must not disclose a protected address (all verified safe).

Each test makes its own graded people and tries one family of paths with the ordinary
system token (no ``protected-addresses`` permission).
"""

from __future__ import annotations

from typing import Any

from fellesjournal.norway import confidentiality as conf
from fellesjournal.norway.identifiers import FNR_SYSTEM
from tests.mpi.people import fresh_fnr, patient
from tests.review.helpers import (
    SECRET_CITY,
    SECRET_POSTCODE,
    SECRET_STREET,
    assert_masked,
    graded_address,
    leaks,
    unique,
)

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def _narrative(text: str) -> dict[str, str]:
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>'}


def _protected_patient(
    client: Any, family: str, grade: str = conf.FORTROLIG, **extra: Any
) -> dict[str, Any]:
    body = patient(
        fresh_fnr(),
        family=family,
        address=[graded_address(grade)],
        text=_narrative(f"{family}, {SECRET_STREET}, {SECRET_CITY}"),
        **extra,
    )
    res = client.post("/fhir/Patient", json=body)
    assert res.status_code == 201, res.text
    assert not leaks(res.text)
    return res.json()


def _related(client: Any, pid: str, grade: str = conf.STRENGT_FORTROLIG) -> dict[str, Any]:
    body = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": f"Patient/{pid}"},
        "name": [{"family": unique("Pårørende")}],
        "address": [graded_address(grade)],
    }
    res = client.post("/fhir/RelatedPerson", json=body)
    assert res.status_code == 201, res.text
    assert not leaks(res.text)
    return res.json()


def _observation(client: Any, pid: str) -> dict[str, Any]:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Puls"},
        "subject": {"reference": f"Patient/{pid}"},
    }
    res = client.post("/fhir/Observation", json=obs)
    assert res.status_code == 201, res.text
    return res.json()


def test_summary_and_elements_on_read_and_search(client: Any) -> None:
    family = unique("Summar")
    pid = _protected_patient(client, family)["id"]
    for params in (
        {"_summary": "true"},
        {"_summary": "text"},
        {"_summary": "data"},
        {"_elements": "address,text"},
    ):
        assert_masked(client.get(f"/fhir/Patient/{pid}", params=params), f"read {params}")
        res = client.get("/fhir/Patient", params={"family": family, **params})
        assert_masked(res, f"search {params}")
        assert pid in res.text
    count = client.get("/fhir/Patient", params={"family": family, "_summary": "count"})
    assert count.json()["total"] == 1


def test_address_searches_totals_and_chains_find_nothing(client: Any) -> None:
    family = unique("Kjede")
    pid = _protected_patient(client, family)["id"]
    _observation(client, pid)
    _related(client, pid)
    person = {
        "resourceType": "Person",
        "name": [{"family": family}],
        "address": [graded_address(conf.FORTROLIG)],
    }
    assert client.post("/fhir/Person", json=person).status_code == 201
    queries = [
        ("Patient", {"address-city": SECRET_CITY, "_total": "accurate"}),
        ("Patient", {"address-postalcode": SECRET_POSTCODE, "_count": "0", "_total": "accurate"}),
        ("Patient", {"address": "Loyndomsvegen", "_summary": "count"}),
        ("Observation", {"subject:Patient.address-city": SECRET_CITY}),
        ("Observation", {"patient.address-postalcode": SECRET_POSTCODE, "_summary": "count"}),
        ("Patient", {"_has:RelatedPerson:patient:address-city": SECRET_CITY}),
        ("Patient", {"_has:Observation:subject:subject:Patient.address": "Loyndomsvegen"}),
        ("RelatedPerson", {"address-city": SECRET_CITY, "_total": "accurate"}),
        ("RelatedPerson", {"patient.address-city": SECRET_CITY}),
        ("Person", {"address-city": SECRET_CITY, "_total": "accurate"}),
        ("Patient", {"address-city:exact": SECRET_CITY}),
        ("Patient", {"address-city:contains": "oymeb"}),
    ]
    for res_type, params in queries:
        res = client.get(f"/fhir/{res_type}", params=params)
        assert res.status_code == 200, (res_type, params, res.text)
        body = res.json()
        assert body.get("total", 0) == 0, (res_type, params, body.get("total"))
        assert not body.get("entry") or all(
            e["search"]["mode"] == "outcome" for e in body["entry"]
        ), (res_type, params)


def test_sort_by_address_does_not_order_by_the_hidden_value(client: Any) -> None:
    """Sorting is no oracle: two protected patients sort by id whatever their cities."""
    family = unique("Sortert")
    ids = []
    for city in ("Aaaby", "Zzzby"):
        body = patient(
            fresh_fnr(), family=family, address=[graded_address(conf.FORTROLIG, city=city)]
        )
        res = client.post("/fhir/Patient", json=body)
        assert res.status_code == 201
        ids.append(res.json()["id"])
    orders = []
    for sort in ("address-city", "-address-city", "address", "-address-postalcode"):
        res = client.get("/fhir/Patient", params={"family": family, "_sort": sort})
        assert res.status_code == 200, res.text
        assert "Aaaby" not in res.text and "Zzzby" not in res.text
        orders.append([e["resource"]["id"] for e in res.json()["entry"]])
    assert all(o == sorted(ids) for o in orders), orders


def test_includes_with_iterate_everything_and_history(client: Any) -> None:
    family = unique("Iterer")
    pid = _protected_patient(client, family, grade=conf.STRENGT_FORTROLIG)["id"]
    oid = _observation(client, pid)["id"]
    rid = _related(client, pid)["id"]
    urls: list[tuple[str, dict[str, str]]] = [
        (
            "/fhir/Observation",
            {
                "_id": oid,
                "_include": "Observation:subject",
                "_revinclude:iterate": "RelatedPerson:patient",
            },
        ),
        ("/fhir/RelatedPerson", {"_id": rid, "_include:iterate": "RelatedPerson:patient"}),
        ("/fhir/Patient", {"_id": pid, "_revinclude": "*"}),
        (f"/fhir/Patient/{pid}/$everything", {}),
        (f"/fhir/RelatedPerson/{rid}/_history", {}),
        ("/fhir/RelatedPerson/_history", {"_count": "100"}),
        ("/fhir/_history", {"_count": "100"}),
        (f"/fhir/RelatedPerson/{rid}/_history/1", {}),
    ]
    for url, params in urls:
        res = client.get(url, params=params)
        assert_masked(res, url)
        assert rid in res.text or pid in res.text, url


def test_conditional_create_update_patch_and_prefer_are_masked(client: Any) -> None:
    family = unique("Betinget")
    created = _protected_patient(client, family)
    pid = created["id"]
    fnr = created["identifier"][0]["value"]
    query = f"identifier={FNR_SYSTEM}|{fnr}"
    again = client.post(
        "/fhir/Patient",
        json=patient(fnr, family=family, address=[graded_address(conf.FORTROLIG)]),
        headers={"If-None-Exist": query, "Prefer": "return=representation"},
    )
    assert again.status_code == 200 and again.json()["id"] == pid
    assert_masked(again, "If-None-Exist")
    shown = client.get(f"/fhir/Patient/{pid}").json()
    shown["gender"] = "other"
    for prefer in ("return=representation", "return=OperationOutcome", "return=minimal"):
        res = client.put(f"/fhir/Patient/{pid}", json=shown, headers={"Prefer": prefer})
        assert_masked(res, f"update {prefer}")
        res = client.put(f"/fhir/Patient?{query}", json=shown, headers={"Prefer": prefer})
        assert_masked(res, f"conditional update {prefer}")
    res = client.patch(
        f"/fhir/Patient/{pid}",
        json=[{"op": "add", "path": "/active", "value": True}],
        headers={**JSON_PATCH, "Prefer": "return=representation"},
    )
    assert_masked(res, "patch")
    assert res.json()["active"] is True


def test_operation_outcomes_do_not_echo_the_hidden_address(client: Any) -> None:
    """JSON Patch runs on the masked view: test/copy/move see nothing to echo."""
    pid = _protected_patient(client, unique("Utfall"))["id"]
    for op in (
        {"op": "test", "path": "/address/0", "value": {"city": "x"}},
        {"op": "test", "path": "/address/0/city", "value": "x"},
        {"op": "copy", "from": "/address/0/line", "path": "/name/0/given"},
        {"op": "move", "from": "/address/0/postalCode", "path": "/gender"},
    ):
        res = client.patch(f"/fhir/Patient/{pid}", json=[op], headers=JSON_PATCH)
        assert res.status_code in (400, 422), (op, res.status_code, res.text)
        assert not leaks(res.text), op
    validate = client.post(
        f"/fhir/Patient/{pid}/$validate", json={"resourceType": "Patient", "id": pid, "gender": 7}
    )
    assert validate.status_code == 200 and not leaks(validate.text)


def test_transaction_and_batch_entries_are_masked(client: Any) -> None:
    family = unique("Bunt")
    pid = _protected_patient(client, family)["id"]
    shown = client.get(f"/fhir/Patient/{pid}").json()
    new = patient(fresh_fnr(), family=family, address=[graded_address(conf.STRENGT_FORTROLIG)])
    for kind in ("transaction", "batch"):
        bundle = {
            "resourceType": "Bundle",
            "type": kind,
            "entry": [
                {"request": {"method": "PUT", "url": f"Patient/{pid}"}, "resource": shown},
                {"request": {"method": "GET", "url": f"Patient/{pid}"}},
                {"request": {"method": "GET", "url": f"Patient?family={family}&_include=*"}},
                {"request": {"method": "GET", "url": f"Patient/{pid}/_history"}},
                {
                    "fullUrl": "urn:uuid:8b0c8c2c-1b7e-4d5e-9a55-0c1d2e3f4a5b",
                    "request": {"method": "POST", "url": "Patient"},
                    "resource": {
                        **new,
                        "identifier": [{"system": FNR_SYSTEM, "value": fresh_fnr()}],
                    },
                },
            ],
        }
        res = client.post("/fhir", json=bundle, headers={"Prefer": "return=representation"})
        assert_masked(res, kind)
        statuses = [e["response"]["status"] for e in res.json()["entry"]]
        assert all(s.startswith(("200", "201")) for s in statuses), (kind, statuses)


def test_related_person_and_person_reads_are_masked(client: Any) -> None:
    pid = _protected_patient(client, unique("Relasjon"))["id"]
    rid = _related(client, pid, grade=conf.FORTROLIG)["id"]
    res = client.get(f"/fhir/RelatedPerson/{rid}")
    assert_masked(res)
    assert res.json()["address"][0]["district"] == "Trondheim"
    person = {
        "resourceType": "Person",
        "name": [{"family": unique("Person")}],
        "address": [graded_address(conf.STRENGT_FORTROLIG)],
    }
    made = client.post("/fhir/Person", json=person)
    assert_masked(made)
    assert_masked(client.get(f"/fhir/Person/{made.json()['id']}"))


def test_contained_related_person_in_a_patient_is_masked(client: Any) -> None:
    body = patient(
        fresh_fnr(),
        family=unique("Inneholdt"),
        contained=[
            {
                "resourceType": "RelatedPerson",
                "id": "rp1",
                "patient": {"reference": "#"},
                "address": [graded_address(conf.FORTROLIG)],
            }
        ],
        contact=[{"name": {"family": "Kontakt"}, "organization": {"reference": "#rp1"}}],
    )
    res = client.post("/fhir/Patient", json=body)
    assert res.status_code == 201, res.text
    assert_masked(res)
    assert_masked(client.get(f"/fhir/Patient/{res.json()['id']}"))


def test_merge_result_is_masked(client: Any) -> None:
    family = unique("Flett")
    target = _protected_patient(client, family)
    source = client.post("/fhir/Patient", json=patient(fresh_fnr(), family=family)).json()
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "source-patient", "valueReference": {"reference": f"Patient/{source['id']}"}},
            {"name": "target-patient", "valueReference": {"reference": f"Patient/{target['id']}"}},
        ],
    }
    res = client.post("/fhir/Patient/$merge", json=params)
    assert res.status_code == 200, res.text
    assert_masked(res, "$merge")


def test_address_not_as_a_list_is_refused(client: Any) -> None:
    """mask() only walks a list; a single Address object must never get stored."""
    body = patient(fresh_fnr(), family=unique("Enkel"), address=graded_address(conf.FORTROLIG))
    res = client.post("/fhir/Patient", json=body)
    assert res.status_code == 422, res.text
    assert not leaks(res.text)


def test_duplicates_report_shows_names_only(client: Any) -> None:
    family = unique("Tvilling")
    for _ in range(2):
        body = patient(family=family, born="1950-05-05", address=[graded_address(conf.FORTROLIG)])
        assert client.post("/fhir/Patient", json=body).status_code == 201
    res = client.get("/fhir/Patient/$duplicates")
    assert res.status_code == 200 and family in res.text
    assert not leaks(res.text)
