"""Chaining, reverse chaining, includes and the result parameters, over HTTP.

https://hl7.org/fhir/R4/search.html: ``subject:Patient.name``, ``_has``, ``_include``,
``_revinclude`` (``:iterate``), ``_sort``, ``_count`` paging via links, ``_offset``,
``_summary``, ``_elements``, ``_total``, POST ``_search``, lenient vs strict handling of
unknown parameters and deleted resources. Each test creates its own uniquely marked data.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

SUBSETTED = "SUBSETTED"


def _uid() -> str:
    return uuid.uuid4().hex[:12]


def _create(client, resource: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _bundle(client, res_type: str, params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.get(f"/fhir/{res_type}", params=params)
    assert r.status_code == 200, (params, r.text)
    body: dict[str, Any] = r.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    return body


def _entries(body: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    return [e for e in body.get("entry", []) if e.get("search", {}).get("mode") == mode]


def _keys(body: dict[str, Any], mode: str) -> set[str]:
    found = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in _entries(body, mode)]
    assert len(found) == len(set(found)), f"duplicate {mode} entries: {found}"
    return set(found)


def _ids(client, res_type: str, params: Any) -> set[str]:  # type: ignore[no-untyped-def]
    body = _bundle(client, res_type, params)
    ids = {k.split("/", 1)[1] for k in _keys(body, "match")}
    assert body.get("total") == len(ids), (params, body.get("total"), ids)
    return ids


def _link(body: dict[str, Any], relation: str) -> str | None:
    for link in body.get("link", []):
        if link["relation"] == relation:
            return str(link["url"])
    return None


def _follow(client, url: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """GET a paging link (absolute, on the configured base) on the in-process server."""
    parts = urlsplit(url)
    r = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@dataclass
class World:
    """A practitioner, two patients, their encounters and observations (code ``code``)."""

    u: str
    code: str
    doc: str
    pf: str
    pm: str
    ef: str
    em: str
    of: str
    om: str


def _world(client) -> World:  # type: ignore[no-untyped-def]
    u = _uid()
    system = f"http://example.org/chain/{u}"
    code = f"{system}|c"
    doc = _create(client, {"resourceType": "Practitioner", "name": [{"family": f"Lege{u}"}]})
    pf = _create(
        client,
        {
            "resourceType": "Patient",
            "name": [{"family": f"Kvinne{u}"}],
            "gender": "female",
            "generalPractitioner": [{"reference": f"Practitioner/{doc}"}],
        },
    )
    pm = _create(
        client, {"resourceType": "Patient", "name": [{"family": f"Mann{u}"}], "gender": "male"}
    )

    def enc(pid: str) -> str:
        return _create(
            client,
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"code": "AMB"},
                "subject": {"reference": f"Patient/{pid}"},
            },
        )

    ef, em = enc(pf), enc(pm)

    def obs(pid: str, **extra: Any) -> str:
        return _create(
            client,
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": system, "code": "c"}]},
                "subject": {"reference": f"Patient/{pid}"},
                **extra,
            },
        )

    of = obs(pf, encounter={"reference": f"Encounter/{ef}"})
    om = obs(pm)
    return World(u, code, doc, pf, pm, ef, em, of, om)


# ----------------------------------------------------------------------------- chaining


def test_chained_parameters(client) -> None:
    w = _world(client)
    assert _ids(client, "Observation", {"subject:Patient.name": f"Kvinne{w.u}"}) == {w.of}
    assert _ids(client, "Observation", {"subject:Patient.family": f"kvinne{w.u}"}) == {w.of}
    assert _ids(client, "Observation", {"subject.name": f"Mann{w.u}"}) == {w.om}
    assert _ids(client, "Observation", {"patient.gender": "female", "code": w.code}) == {w.of}
    assert _ids(client, "Observation", {"patient.gender": "male", "code": w.code}) == {w.om}
    assert _ids(client, "Observation", {"subject:Patient.name": f"Ingen{w.u}"}) == set()
    # each chain is a separate AND criterion
    assert (
        _ids(client, "Observation", [("patient.gender", "male"), ("patient.name", f"Kvinne{w.u}")])
        == set()
    )


def test_chain_and_has_on_id(client) -> None:
    w = _world(client)
    assert _ids(client, "Observation", {"patient._id": w.pm}) == {w.om}
    assert _ids(client, "Observation", {"subject:Patient._id": f"{w.pf},{w.pm}"}) == {w.of, w.om}
    assert _ids(client, "Patient", {"_has:Encounter:subject:_id": w.em}) == {w.pm}


def test_chain_two_levels(client) -> None:
    w = _world(client)
    gp = f"Lege{w.u}"
    assert _ids(
        client, "Encounter", {"subject:Patient.general-practitioner:Practitioner.name": gp}
    ) == {w.ef}
    assert _ids(client, "Encounter", {"patient.general-practitioner.name": gp}) == {w.ef}
    assert _ids(
        client, "Observation", {"subject:Patient.general-practitioner:Practitioner.family": gp}
    ) == {w.of}
    assert _ids(
        client, "Observation", {"encounter.subject:Patient.general-practitioner.name": gp}
    ) == {w.of}


def test_reverse_chaining_has(client) -> None:
    w = _world(client)
    assert _ids(client, "Patient", {"_has:Observation:patient:code": w.code}) == {w.pf, w.pm}
    assert _ids(
        client, "Patient", {"_has:Observation:subject:code": w.code, "gender": "female"}
    ) == {w.pf}
    assert _ids(client, "Patient", {"_has:Observation:patient:code": w.code + "x"}) == set()
    # nested: patients with an encounter that an observation with the code points to
    assert _ids(
        client, "Patient", {"_has:Encounter:patient:_has:Observation:encounter:code": w.code}
    ) == {w.pf}
    # practitioners who are GP of a patient who has an observation with the code
    assert _ids(
        client,
        "Practitioner",
        {"_has:Patient:general-practitioner:_has:Observation:patient:code": w.code},
    ) == {w.doc}
    # _has combined with a chain inside
    assert _ids(
        client,
        "Practitioner",
        {"_has:Patient:general-practitioner:gender": "female", "name": f"Lege{w.u}"},
    ) == {w.doc}


# ----------------------------------------------------------------------------- includes


def test_include_forward(client) -> None:
    w = _world(client)
    body = _bundle(client, "Observation", {"code": w.code, "_include": "Observation:subject"})
    assert _keys(body, "match") == {f"Observation/{w.of}", f"Observation/{w.om}"}
    assert _keys(body, "include") == {f"Patient/{w.pf}", f"Patient/{w.pm}"}
    assert body["total"] == 2  # included resources are not counted
    body = _bundle(
        client, "Observation", {"code": w.code, "_include": "Observation:subject:Patient"}
    )
    assert _keys(body, "include") == {f"Patient/{w.pf}", f"Patient/{w.pm}"}
    body = _bundle(client, "Observation", {"code": w.code, "_include": "Observation:subject:Group"})
    assert _keys(body, "include") == set()
    body = _bundle(client, "Observation", {"_id": w.of, "_include": "*"})
    assert _keys(body, "match") == {f"Observation/{w.of}"}
    assert _keys(body, "include") == {f"Patient/{w.pf}", f"Encounter/{w.ef}"}
    assert body["total"] == 1
    body = _bundle(
        client,
        "Observation",
        [
            ("code", w.code),
            ("_include", "Observation:subject"),
            ("_include", "Observation:encounter"),
        ],
    )
    assert _keys(body, "include") == {f"Patient/{w.pf}", f"Patient/{w.pm}", f"Encounter/{w.ef}"}


def test_revinclude_and_iterate(client) -> None:
    w = _world(client)
    body = _bundle(
        client, "Patient", {"_id": f"{w.pf},{w.pm}", "_revinclude": "Observation:subject"}
    )
    assert _keys(body, "match") == {f"Patient/{w.pf}", f"Patient/{w.pm}"}
    assert _keys(body, "include") == {f"Observation/{w.of}", f"Observation/{w.om}"}
    assert body["total"] == 2
    body = _bundle(client, "Patient", {"_id": w.pf, "_revinclude": "Encounter:subject"})
    assert _keys(body, "include") == {f"Encounter/{w.ef}"}
    # :iterate follows references from included resources too
    body = _bundle(
        client,
        "Observation",
        [
            ("code", w.code),
            ("_include", "Observation:subject"),
            ("_include:iterate", "Patient:general-practitioner"),
        ],
    )
    assert _keys(body, "include") == {f"Patient/{w.pf}", f"Patient/{w.pm}", f"Practitioner/{w.doc}"}
    assert body["total"] == 2
    # without :iterate the second hop is not taken
    body = _bundle(
        client,
        "Observation",
        [
            ("code", w.code),
            ("_include", "Observation:subject"),
            ("_include", "Patient:general-practitioner"),
        ],
    )
    assert _keys(body, "include") == {f"Patient/{w.pf}", f"Patient/{w.pm}"}
    # revinclude then iterate: practitioner <- patient <- observation
    body = _bundle(
        client,
        "Practitioner",
        [
            ("_id", w.doc),
            ("_revinclude", "Patient:general-practitioner"),
            ("_revinclude:iterate", "Observation:subject"),
        ],
    )
    assert _keys(body, "include") == {f"Patient/{w.pf}", f"Observation/{w.of}"}


# ----------------------------------------------------------------------------- sorting


def test_sort_several_keys(client) -> None:
    fam = f"Sort{_uid()}"
    people = {
        "a": ("Anne", "1990-01-01"),
        "b": ("Bjørg", "1985-06-01"),
        "c": ("Cecilie", "1990-01-01"),
        "d": ("Dag", "1970-03-03"),
        "e": ("Eva", "1985-06-01"),
    }
    ids: dict[str, str] = {}
    for label, (given, born) in people.items():
        ids[label] = _create(
            client,
            {
                "resourceType": "Patient",
                "birthDate": born,
                "name": [{"family": fam, "given": [given]}],
            },
        )
        time.sleep(0.005)  # distinct lastUpdated
    names = {v: k for k, v in ids.items()}

    def order(sort: str) -> str:
        body = _bundle(client, "Patient", {"family": fam, "_sort": sort})
        return "".join(names[e["resource"]["id"]] for e in _entries(body, "match"))

    assert order("given") == "abcde"
    assert order("-given") == "edcba"
    assert order("birthdate,given") == "dbeac"
    assert order("-birthdate,given") == "acbed"
    assert order("-birthdate,-given") == "caebd"
    assert order("_lastUpdated") == "abcde"
    assert order("-_lastUpdated") == "edcba"
    by_id = "".join(names[i] for i in sorted(ids.values()))
    assert order("_id") == by_id
    assert order("-_id") == by_id[::-1]
    assert order("birthdate,-_id") == "d" + "".join(
        names[i] for i in sorted((ids["b"], ids["e"]), reverse=True)
    ) + "".join(names[i] for i in sorted((ids["a"], ids["c"]), reverse=True))


# ----------------------------------------------------------------------------- paging


def _walk(client, first: dict[str, Any], relation: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    pages, body = [], first
    for _ in range(20):
        pages.append([e["resource"]["id"] for e in _entries(body, "match")])
        url = _link(body, relation)
        if url is None:
            return pages
        body = _follow(client, url)
    raise AssertionError(f"{relation} links never end")


def test_count_paging_next_and_previous(client) -> None:
    fam = f"Page{_uid()}"
    all_ids = {
        _create(client, {"resourceType": "Patient", "name": [{"family": fam}]}) for _ in range(7)
    }
    first = _bundle(client, "Patient", {"family": fam, "_count": "3"})
    assert first["total"] == 7
    assert _link(first, "previous") is None
    pages = _walk(client, first, "next")
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [i for p in pages for i in p]
    assert sorted(seen) == sorted(all_ids)  # each id exactly once
    assert (
        _walk(client, _bundle(client, "Patient", {"family": fam, "_count": "3"}), "next") == pages
    )  # stable
    # back from the last page
    last = first
    while (nxt := _link(last, "next")) is not None:
        last = _follow(client, nxt)
        assert last["total"] == 7
    back = _walk(client, last, "previous")
    assert back == pages[::-1]


def test_count_paging_with_sort(client) -> None:
    fam = f"Page{_uid()}"
    for i in range(5):
        _create(client, {"resourceType": "Patient", "name": [{"family": fam, "given": [f"G{i}"]}]})
    pages = _walk(
        client,
        _bundle(client, "Patient", {"family": fam, "_count": "2", "_sort": "-given"}),
        "next",
    )
    givens = []
    for page in pages:
        for pid in page:
            givens.append(client.get(f"/fhir/Patient/{pid}").json()["name"][0]["given"][0])
    assert givens == ["G4", "G3", "G2", "G1", "G0"]


def test_offset(client) -> None:
    fam = f"Off{_uid()}"
    ids = sorted(
        _create(client, {"resourceType": "Patient", "name": [{"family": fam}]}) for _ in range(7)
    )
    body = _bundle(
        client, "Patient", {"family": fam, "_count": "3", "_offset": "3", "_sort": "_id"}
    )
    assert [e["resource"]["id"] for e in _entries(body, "match")] == ids[3:6]
    assert body["total"] == 7
    prev, nxt = _link(body, "previous"), _link(body, "next")
    assert prev is not None and nxt is not None
    assert [e["resource"]["id"] for e in _entries(_follow(client, prev), "match")] == ids[:3]
    tail = _follow(client, nxt)
    assert [e["resource"]["id"] for e in _entries(tail, "match")] == ids[6:]
    assert _link(tail, "next") is None
    assert tail["total"] == 7
    beyond = _bundle(client, "Patient", {"family": fam, "_offset": "50"})
    assert _entries(beyond, "match") == [] and beyond["total"] == 7


def test_count_zero_gives_total_only(client) -> None:
    fam = f"Zero{_uid()}"
    for _ in range(2):
        _create(client, {"resourceType": "Patient", "name": [{"family": fam}]})
    body = _bundle(client, "Patient", {"family": fam, "_count": "0"})
    assert _entries(body, "match") == []
    assert body["total"] == 2


# ----------------------------------------------------------------- summary, elements, total


def _rich_patient(fam: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"family": fam}],
        "gender": "female",
        "birthDate": "1970-01-01",
        "address": [{"city": "Trondheim"}],
        "maritalStatus": {"text": "gift"},
        "communication": [{"language": {"text": "norsk"}}],
    }


def test_summary_count(client) -> None:
    fam = f"Sum{_uid()}"
    for _ in range(3):
        _create(client, _rich_patient(fam))
    body = _bundle(client, "Patient", {"family": fam, "_summary": "count"})
    assert body["total"] == 3
    assert not body.get("entry")


def test_summary_true(client) -> None:
    fam = f"Sum{_uid()}"
    pid = _create(client, _rich_patient(fam))
    body = _bundle(client, "Patient", {"family": fam, "_summary": "true"})
    assert body["total"] == 1
    [entry] = _entries(body, "match")
    res = entry["resource"]
    assert res["id"] == pid
    assert res["name"] == [{"family": fam}] and res["gender"] == "female"
    assert res["birthDate"] == "1970-01-01" and res["address"] == [{"city": "Trondheim"}]
    assert "maritalStatus" not in res and "communication" not in res
    assert {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": SUBSETTED,
    } in res["meta"]["tag"]
    # the stored resource is untouched
    stored = client.get(f"/fhir/Patient/{pid}").json()
    assert "maritalStatus" in stored
    assert SUBSETTED not in str(stored["meta"])


def test_elements(client) -> None:
    fam = f"Elem{_uid()}"
    pid = _create(client, _rich_patient(fam))
    body = _bundle(client, "Patient", {"family": fam, "_elements": "name,gender"})
    [entry] = _entries(body, "match")
    res = entry["resource"]
    assert res["resourceType"] == "Patient" and res["id"] == pid
    assert set(res) == {"resourceType", "id", "meta", "name", "gender"}
    assert any(t["code"] == SUBSETTED for t in res["meta"]["tag"])


def test_total_none_and_accurate(client) -> None:
    fam = f"Tot{_uid()}"
    for _ in range(3):
        _create(client, {"resourceType": "Patient", "name": [{"family": fam}]})
    body = _bundle(client, "Patient", {"family": fam, "_total": "none", "_count": "1"})
    assert "total" not in body
    assert len(_entries(body, "match")) == 1
    body = _bundle(client, "Patient", {"family": fam, "_total": "accurate", "_count": "1"})
    assert body["total"] == 3
    assert len(_entries(body, "match")) == 1


# ----------------------------------------------------------------------------- POST, handling


def test_post_search_form_equals_get(client) -> None:
    w = _world(client)
    params = {"code": w.code, "patient.gender": "female", "_include": "Observation:subject"}
    got = _bundle(client, "Observation", params)
    r = client.post("/fhir/Observation/_search", data=params)
    assert r.status_code == 200, r.text
    posted = r.json()
    assert posted["type"] == "searchset"
    assert posted["total"] == got["total"] == 1
    assert _keys(posted, "match") == _keys(got, "match") == {f"Observation/{w.of}"}
    assert _keys(posted, "include") == _keys(got, "include") == {f"Patient/{w.pf}"}
    # parameters may be split between the URL and the body
    r = client.post(
        f"/fhir/Observation/_search?code={w.code.replace('|', '%7C')}",
        data={"patient.gender": "male"},
    )
    assert r.status_code == 200, r.text
    assert _keys(r.json(), "match") == {f"Observation/{w.om}"}


def test_unknown_parameter_lenient_and_strict(client) -> None:
    fam = f"Unk{_uid()}"
    pid = _create(client, {"resourceType": "Patient", "name": [{"family": fam}]})
    body = _bundle(client, "Patient", {"family": fam, "nosuch-param": "1"})
    assert _keys(body, "match") == {f"Patient/{pid}"}  # the known parameter still applies
    assert body["total"] == 1  # the outcome entry is not a match
    [outcome] = _entries(body, "outcome")
    assert outcome["resource"]["resourceType"] == "OperationOutcome"
    issue = outcome["resource"]["issue"][0]
    assert issue["severity"] == "warning" and "nosuch-param" in issue["diagnostics"]
    r = client.get(
        "/fhir/Patient",
        params={"family": fam, "nosuch-param": "1"},
        headers={"Prefer": "handling=strict"},
    )
    assert r.status_code == 400
    assert r.json()["resourceType"] == "OperationOutcome"
    r = client.get("/fhir/Patient", params={"family": fam}, headers={"Prefer": "handling=strict"})
    assert r.status_code == 200 and r.json()["total"] == 1


# ----------------------------------------------------------------------------- deleted


def test_deleted_resources_never_match(client) -> None:
    w = _world(client)
    fam_m = f"Mann{w.u}"
    assert client.delete(f"/fhir/Patient/{w.pm}").status_code == 204
    assert client.delete(f"/fhir/Observation/{w.of}").status_code == 204
    assert _ids(client, "Patient", {"family": fam_m}) == set()
    assert _ids(client, "Patient", {"_id": f"{w.pm},{w.pf}"}) == {w.pf}
    assert _ids(client, "Observation", {"code": w.code}) == {w.om}
    # chains and _has only go through live resources
    assert _ids(client, "Observation", {"subject:Patient.name": fam_m}) == set()
    assert _ids(client, "Observation", {"patient.gender": "male", "code": w.code}) == set()
    assert _ids(client, "Patient", {"_has:Observation:patient:code": w.code}) == set()
    # and are not included
    body = _bundle(client, "Observation", {"code": w.code, "_include": "Observation:subject"})
    assert _keys(body, "include") == set()
    body = _bundle(client, "Patient", {"_id": w.pf, "_revinclude": "Observation:subject"})
    assert _keys(body, "include") == set()
    assert _bundle(client, "Patient", {"family": fam_m, "_summary": "count"})["total"] == 0
    # an updated resource matches on its new values only
    current = client.get(f"/fhir/Patient/{w.pf}").json()
    current["name"] = [{"family": f"Nytt{w.u}"}]
    assert client.put(f"/fhir/Patient/{w.pf}", json=current).status_code == 200
    assert _ids(client, "Patient", {"family": f"Kvinne{w.u}"}) == set()
    assert _ids(client, "Patient", {"family": f"Nytt{w.u}"}) == {w.pf}


# ------------------------------------------------------------------ system level, escaping


def test_system_level_search_common_parameters(client) -> None:
    u = _uid()
    tags = f"urn:tags:{u}"
    pid = _create(
        client, {"resourceType": "Patient", "meta": {"tag": [{"system": tags, "code": "v"}]}}
    )
    oid = _create(
        client,
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "meta": {"tag": [{"system": tags, "code": "v"}]},
        },
    )
    _create(client, {"resourceType": "Basic", "code": {"text": "untagged"}})

    def keys(params: dict[str, str]) -> tuple[set[str], int | None, list[Any]]:
        r = client.get("/fhir", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        entries = body.get("entry", [])
        found = {
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in entries
            if e["search"]["mode"] == "match"
        }
        return found, body.get("total"), [e for e in entries if e["search"]["mode"] != "match"]

    # https://hl7.org/fhir/R4/search.html#all: the Resource parameters work across all types
    assert keys({"_tag": f"{tags}|v"}) == ({f"Patient/{pid}", f"Observation/{oid}"}, 2, [])
    assert keys({"_id": pid}) == ({f"Patient/{pid}"}, 1, [])
    assert keys({"_lastUpdated": "lt2000-01-01"}) == (set(), 0, [])
    assert keys({"_type": "Patient", "_tag": f"{tags}|v"}) == ({f"Patient/{pid}"}, 1, [])


def test_escaped_separators_in_values(client) -> None:
    # https://hl7.org/fhir/R4/search.html#escaping: \, \| and \$ are literal characters
    u = _uid()
    system = f"urn:sys:{u}"
    fam = f"Esc{u}"
    odd = _create(
        client,
        {
            "resourceType": "Patient",
            "name": [{"family": fam}],
            "identifier": [{"system": system, "value": f"P|Q,R${u}"}],
        },
    )
    plain = _create(
        client,
        {
            "resourceType": "Patient",
            "name": [{"family": fam}],
            "identifier": [{"system": system, "value": "P"}],
        },
    )
    scope = {"family": fam}
    assert _ids(client, "Patient", {**scope, "identifier": f"{system}|P\\|Q\\,R${u}"}) == {odd}
    assert _ids(client, "Patient", {**scope, "identifier": f"{system}|P\\|Q\\,R\\${u}"}) == {odd}
    assert _ids(client, "Patient", {**scope, "identifier": f"P\\|Q\\,R\\${u}"}) == {odd}
    assert _ids(client, "Patient", {**scope, "identifier": f"{system}|P,x"}) == {plain}
    assert _ids(client, "Patient", {**scope, "identifier": f"{system}|P\\,x"}) == set()


# ----------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    ("res_type", "params"),
    [
        pytest.param("Patient", {"_offset": "9" * 25}, id="huge-offset"),
        pytest.param("Patient", {"_count": "9" * 25}, id="huge-count"),
        pytest.param("Patient", {"family": "\x00"}, id="nul-string"),
        pytest.param("Patient", {"_id": "\x00"}, id="nul-id"),
        pytest.param("Patient", {"identifier": "a|\x00"}, id="nul-token"),
        pytest.param("Patient", {"family": "a" * 3000}, id="long-string"),
        pytest.param("Observation", {"value-quantity": "1e400"}, id="overflowing-exponent"),
        pytest.param("Observation", {"value-quantity": "9" * 400}, id="overflowing-number"),
        pytest.param("Patient", {"birthdate": "9999-12-31"}, id="last-date"),
        pytest.param("Patient", {"birthdate": "ap0001"}, id="ap-first-year"),
    ],
)
def test_hostile_values_answer_200_or_400(client, res_type: str, params: dict[str, str]) -> None:
    r = client.get(f"/fhir/{res_type}", params=params)
    assert r.status_code in (200, 400), r.text
    assert r.json()["resourceType"] in ("Bundle", "OperationOutcome")
