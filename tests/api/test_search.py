"""FHIR search by parameter type, over HTTP: https://hl7.org/fhir/R4/search.html.

string, token, date, number, quantity, reference, uri, composite and the Resource
parameters (``_id``, ``_tag``, ``_profile``, ``_security``, ``_lastUpdated``). Every test
creates its own data, made unique by a random marker, and asserts exact result sets and
totals; table-driven tests compare the whole ``{query: expected labels}`` mapping so a
failure shows every wrong case at once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

Params = dict[str, str] | list[tuple[str, str]]


def _uid() -> str:
    return uuid.uuid4().hex[:12]


def _create(client, resource: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    r = client.post(f"/fhir/{resource['resourceType']}", json=resource)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _put(client, resource: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    r = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert r.status_code in (200, 201), r.text
    return str(resource["id"])


def _ids(client, res_type: str, params: Params) -> set[str]:  # type: ignore[no-untyped-def]
    """Ids of the matches; the total must equal their number (no paging in these tests)."""
    r = client.get(f"/fhir/{res_type}", params=params)
    assert r.status_code == 200, (params, r.text)
    body = r.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    matches = [e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == "match"]
    assert len(matches) == len(set(matches)), f"duplicate matches for {params}"
    assert all(
        e["resource"]["resourceType"] == res_type
        for e in body.get("entry", [])
        if e["search"]["mode"] == "match"
    )
    assert body.get("total") == len(matches), (params, body.get("total"), matches)
    return set(matches)


def _table(
    client,
    res_type: str,
    scope: Params,
    param: str,  # type: ignore[no-untyped-def]
    expected: dict[str, set[str]],
    labels: dict[str, str],
) -> None:
    """Run ``param=<query>`` (plus ``scope``) for every query and compare label sets."""
    names = {v: k for k, v in labels.items()}
    scope_items = list(scope.items()) if isinstance(scope, dict) else list(scope)
    got = {
        q: {names.get(i, i) for i in _ids(client, res_type, [*scope_items, (param, q)])}
        for q in expected
    }
    assert got == expected


def _obs(system: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        **extra,
    }


# ----------------------------------------------------------------------------- string


def _string_patients(client, g: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    people = {
        "p1": ("Åsen", "Kari", "Tromsø"),
        "p2": ("Aasen", "Ola", "Trondheim"),
        "p3": ("Asen", "Per", "Ålesund"),
        "p4": ("Hansen", "José", "Bodø"),
        "p5": ("Ærlig-Müller", "Bjørn", "Molde"),
    }
    return {
        label: _create(
            client,
            {
                "resourceType": "Patient",
                "name": [{"family": family, "given": [given, g]}],
                "address": [{"city": city}],
            },
        )
        for label, (family, given, city) in people.items()
    }


def test_string_default_is_case_accent_insensitive_prefix(client) -> None:
    g = f"g{_uid()}"
    pats = _string_patients(client, g)
    _table(
        client,
        "Patient",
        {"given": g},
        "family",
        {
            "Åsen": {"p1", "p2"},  # å is folded to aa: Åsen and Aasen are the same name
            "aasen": {"p1", "p2"},
            "ÅSEN": {"p1", "p2"},
            "Aa": {"p1", "p2"},
            "asen": {"p3"},
            "sen": set(),  # a prefix match, not a substring match
            "hans": {"p4"},
            "HANSEN": {"p4"},
            "aerlig": {"p5"},  # æ is folded to ae
            "Ærlig-Mü": {"p5"},
            "Hansen,Asen": {"p3", "p4"},  # comma = OR
            "Hansenx": set(),
        },
        pats,
    )


def test_string_given_name_and_address_city(client) -> None:
    g = f"g{_uid()}"
    pats = _string_patients(client, g)
    _table(
        client,
        "Patient",
        {"given": g},
        "given",
        {
            "jose": {"p4"},
            "JOSÉ": {"p4"},
            "Bjorn": {"p5"},
            "bjørn": {"p5"},
            "kar": {"p1"},
        },
        pats,
    )
    _table(
        client,
        "Patient",
        {"given": g},
        "name",
        {
            "bjørn": {"p5"},
            "aasen": {"p1", "p2"},
            "ola": {"p2"},
            "Tromsø": set(),
        },
        pats,
    )
    _table(
        client,
        "Patient",
        {"given": g},
        "address-city",
        {
            "tromso": {"p1"},
            "TROMSØ": {"p1"},
            "Trond": {"p2"},
            "aalesund": {"p3"},
            "Ålesund": {"p3"},
            "bod": {"p4"},
            "Tr": {"p1", "p2"},
        },
        pats,
    )


def test_string_contains(client) -> None:
    g = f"g{_uid()}"
    pats = _string_patients(client, g)
    _table(
        client,
        "Patient",
        {"given": g},
        "family:contains",
        {
            "sen": {"p1", "p2", "p3", "p4"},
            "SEN": {"p1", "p2", "p3", "p4"},
            "MÜLL": {"p5"},
            "lig-mu": {"p5"},
            "aas": {"p1", "p2"},
            "xyz": set(),
            "%": set(),  # SQL wildcards are literal characters
            "_": set(),
        },
        pats,
    )
    _table(
        client,
        "Patient",
        {"given": g},
        "address-city:contains",
        {
            "mso": {"p1"},
            "DØ": {"p4"},
            "ø": {"p1", "p2", "p4", "p5"},  # ø is folded to o
        },
        pats,
    )


def test_string_exact_is_whole_string_case_and_accent_sensitive(client) -> None:
    g = f"g{_uid()}"
    pats = _string_patients(client, g)
    # https://hl7.org/fhir/R4/search.html#string: ":exact ... match the entire supplied
    # parameter, including casing and combining characters"
    _table(
        client,
        "Patient",
        {"given": g},
        "family:exact",
        {
            "Åsen": {"p1"},
            "Aasen": {"p2"},
            "Asen": {"p3"},
            "åsen": set(),
            "ÅSEN": set(),
            "Åse": set(),
            "Hansen": {"p4"},
            "Ærlig-Müller": {"p5"},
            "Aerlig-Muller": set(),
        },
        pats,
    )


# ----------------------------------------------------------------------------- token


def test_token_patient_gender_active_missing_not(client) -> None:
    fam = f"Tok{_uid()}"
    pats = {
        "f": _create(
            client,
            {
                "resourceType": "Patient",
                "name": [{"family": fam}],
                "gender": "female",
                "active": True,
            },
        ),
        "m": _create(
            client,
            {
                "resourceType": "Patient",
                "name": [{"family": fam}],
                "gender": "male",
                "active": False,
            },
        ),
        "x": _create(client, {"resourceType": "Patient", "name": [{"family": fam}]}),
    }
    scope = {"family": fam}
    _table(
        client,
        "Patient",
        scope,
        "gender",
        {
            "female": {"f"},
            "male": {"m"},
            "male,female": {"f", "m"},
            "other": set(),
        },
        pats,
    )
    # :not includes resources that have no value at all
    _table(client, "Patient", scope, "gender:not", {"male": {"f", "x"}, "other": set(pats)}, pats)
    _table(client, "Patient", scope, "gender:missing", {"true": {"x"}, "false": {"f", "m"}}, pats)
    _table(client, "Patient", scope, "active", {"true": {"f"}, "false": {"m"}}, pats)
    _table(client, "Patient", scope, "active:missing", {"true": {"x"}, "false": {"f", "m"}}, pats)
    _table(client, "Patient", scope, "birthdate:missing", {"true": set(pats), "false": set()}, pats)


@pytest.mark.xfail(
    strict=True,
    reason="known gap: code elements are indexed without the "
    "system implied by their required binding (docs/conformance.md)",
)
def test_token_on_code_element_with_implicit_system(client) -> None:
    # a `code` element's system is implied by its required binding (R4 search.html, token)
    fam = f"Tok{_uid()}"
    f = _create(client, {"resourceType": "Patient", "name": [{"family": fam}], "gender": "female"})
    _create(client, {"resourceType": "Patient", "name": [{"family": fam}], "gender": "male"})
    assert _ids(
        client,
        "Patient",
        {"family": fam, "gender": "http://hl7.org/fhir/administrative-gender|female"},
    ) == {f}


def test_token_identifier_system_code_forms(client) -> None:
    u = _uid()
    s1, s2 = f"urn:sys:{u}:1", f"urn:sys:{u}:2"
    fam = f"Ident{u}"
    pats = {
        "a": _create(
            client,
            {
                "resourceType": "Patient",
                "name": [{"family": fam}],
                "identifier": [
                    {
                        "system": s1,
                        "value": f"A1-{u}",
                        "type": {
                            "coding": [{"system": V2_0203, "code": "MR"}],
                            "text": "Journalnummer",
                        },
                    }
                ],
            },
        ),
        "b": _create(
            client,
            {
                "resourceType": "Patient",
                "name": [{"family": fam}],
                "identifier": [{"system": s1, "value": f"B1-{u}"}, {"value": f"nosys-{u}"}],
            },
        ),
        "c": _create(
            client,
            {
                "resourceType": "Patient",
                "name": [{"family": fam}],
                "identifier": [{"system": s2, "value": f"A1-{u}"}],
            },
        ),
    }
    _table(
        client,
        "Patient",
        {"family": fam},
        "identifier",
        {
            f"A1-{u}": {"a", "c"},
            f"{s1}|A1-{u}": {"a"},
            f"{s2}|A1-{u}": {"c"},
            f"{s1}|": {"a", "b"},
            f"|nosys-{u}": {"b"},
            f"|A1-{u}": set(),  # |code: only identifiers without a system
            f"{s1}|nosys-{u}": set(),
            f"{s1}|a1-{u}": set(),  # codes are case-sensitive
            f"{s1}|A1-{u},{s2}|A1-{u}": {"a", "c"},
        },
        pats,
    )
    _table(
        client,
        "Patient",
        {"family": fam},
        "identifier:of-type",
        {
            f"{V2_0203}|MR|A1-{u}": {"a"},
            f"{V2_0203}|MR|B1-{u}": set(),
            f"{V2_0203}|SS|A1-{u}": set(),
        },
        pats,
    )
    _table(
        client,
        "Patient",
        {"family": fam},
        "identifier:text",
        {
            "journal": {"a"},
            "JOURNALNUMMER": {"a"},
            "nummer": set(),
        },
        pats,
    )


def test_token_codeable_concept_code_text_not(client) -> None:
    u = _uid()
    s, s2 = f"http://example.org/cs/{u}", f"http://example.org/cs2/{u}"
    pid = _create(client, {"resourceType": "Patient"})
    subj = {"subject": {"reference": f"Patient/{pid}"}}
    obs = {
        "o1": _create(
            client,
            {
                "resourceType": "Observation",
                "status": "final",
                **subj,
                "code": {
                    "coding": [{"system": s, "code": f"a-{u}", "display": "Blodtrykk systolisk"}]
                },
            },
        ),
        "o2": _create(
            client,
            {
                "resourceType": "Observation",
                "status": "final",
                **subj,
                "code": {"coding": [{"system": s, "code": f"b-{u}"}], "text": "Hjertefrekvens"},
            },
        ),
        "o3": _create(client, _obs(s2, f"a-{u}", **subj)),
    }
    scope = {"subject": f"Patient/{pid}"}
    _table(
        client,
        "Observation",
        scope,
        "code",
        {
            f"a-{u}": {"o1", "o3"},
            f"{s}|a-{u}": {"o1"},
            f"{s}|": {"o1", "o2"},
            f"{s2}|b-{u}": set(),
            f"{s}|a-{u},{s}|b-{u}": {"o1", "o2"},
        },
        obs,
    )
    _table(
        client,
        "Observation",
        scope,
        "code:not",
        {
            f"{s}|a-{u}": {"o2", "o3"},
            f"a-{u}": {"o2"},
        },
        obs,
    )
    _table(
        client,
        "Observation",
        scope,
        "code:text",
        {
            "blodtrykk": {"o1"},
            "HJERTE": {"o2"},
            "puls": set(),
        },
        obs,
    )


# ----------------------------------------------------------------------------- date


def test_date_prefixes_on_birthdate_year_month_day(client) -> None:
    fam = f"Date{_uid()}"
    births = {
        "y": "1980",
        "m": "1980-05",
        "d": "1980-05-17",
        "d2": "1980-05-18",
        "prev": "1979-12-31",
        "next": "1981-01-01",
        "far": "1960-01-01",
        "none": None,
    }
    pats = {
        label: _create(
            client,
            {
                "resourceType": "Patient",
                "name": [{"family": fam}],
                **({"birthDate": b} if b else {}),
            },
        )
        for label, b in births.items()
    }
    in80 = {"y", "m", "d", "d2"}
    _table(
        client,
        "Patient",
        {"family": fam},
        "birthdate",
        {
            # year
            "1980": in80,
            "eq1980": in80,
            "ne1980": {"prev", "next", "far"},
            "gt1980": {"next"},
            "lt1980": {"prev", "far"},
            "ge1980": in80 | {"next"},
            "le1980": in80 | {"prev", "far"},
            "sa1980": {"next"},
            "eb1980": {"prev", "far"},
            # month
            "1980-05": {"m", "d", "d2"},
            "eq1980-05": {"m", "d", "d2"},
            "ne1980-05": {"y", "prev", "next", "far"},
            "gt1980-05": {"y", "next"},
            "lt1980-05": {"y", "prev", "far"},
            "ge1980-05": in80 | {"next"},
            "le1980-05": in80 | {"prev", "far"},
            "sa1980-05": {"next"},
            "eb1980-05": {"prev", "far"},
            # day
            "1980-05-17": {"d"},
            "eq1980-05-17": {"d"},
            "ne1980-05-17": {"y", "m", "d2", "prev", "next", "far"},
            "gt1980-05-17": {"y", "m", "d2", "next"},
            "lt1980-05-17": {"y", "m", "prev", "far"},
            "ge1980-05-17": in80 | {"next"},
            "le1980-05-17": {"y", "m", "d", "prev", "far"},
            "sa1980-05-17": {"d2", "next"},
            "eb1980-05-17": {"prev", "far"},
            # OR of two values
            "1979,1981": {"prev", "next"},
        },
        pats,
    )
    # ap: "approximately" — the day itself and its neighbour, never twenty years away
    names = {v: k for k, v in pats.items()}
    ap = {names[i] for i in _ids(client, "Patient", {"family": fam, "birthdate": "ap1980-05-17"})}
    assert {"d", "d2"} <= ap
    assert not ap & {"far", "none"}


def test_date_prefixes_on_observation_effective_second_precision(client) -> None:
    u = _uid()
    s = f"http://example.org/dates/{u}"
    eff = {
        "o1": {"effectiveDateTime": "2021-03-04T10:20:30Z"},
        "o2": {"effectiveDateTime": "2021-03-04T10:20:31Z"},
        "o3": {"effectiveDateTime": "2021-03-04T12:00:00+02:00"},  # = 10:00:00Z
        "o4": {"effectivePeriod": {"start": "2021-03-04T10:00:00Z", "end": "2021-03-04T11:00:00Z"}},
        "o5": {"effectivePeriod": {"start": "2021-03-05"}},  # open-ended
        "o6": {"effectiveDateTime": "2021-03-03"},
    }
    obs = {label: _create(client, _obs(s, "x", **e)) for label, e in eff.items()}
    every = set(obs)
    sec = "2021-03-04T10:20:30Z"
    _table(
        client,
        "Observation",
        {"code": f"{s}|x"},
        "date",
        {
            # second
            sec: {"o1"},
            f"eq{sec}": {"o1"},
            f"ne{sec}": every - {"o1"},
            f"gt{sec}": {"o2", "o4", "o5"},
            f"lt{sec}": {"o3", "o4", "o6"},
            f"ge{sec}": {"o1", "o2", "o4", "o5"},
            f"le{sec}": {"o1", "o3", "o4", "o6"},
            f"sa{sec}": {"o2", "o5"},
            f"eb{sec}": {"o3", "o6"},
            # time zones are honoured
            "2021-03-04T10:00:00Z": {"o3"},
            "2021-03-04T12:00:00+02:00": {"o3"},
            "2021-03-04T11:00:00+01:00": {"o3"},
            # day
            "2021-03-04": {"o1", "o2", "o3", "o4"},
            "ne2021-03-04": {"o5", "o6"},
            "gt2021-03-04": {"o5"},
            "lt2021-03-04": {"o6"},
            "ge2021-03-04": every - {"o6"},
            "le2021-03-04": every - {"o5"},
            "sa2021-03-04": {"o5"},
            "eb2021-03-04": {"o6"},
            # month
            "2021-03": every - {"o5"},
            "ne2021-03": {"o5"},
            "gt2021-03": {"o5"},
            "lt2021-03": set(),
            "ge2021-03": every,
            "le2021-03": every - {"o5"},
            "sa2021-03": set(),
            "eb2021-03": set(),
            # year
            "2021": every - {"o5"},
            "gt2021": {"o5"},
            "lt2021": set(),
            "sa2021": set(),
            "eb2021": set(),
            "ge2021": every,
            "le2021": every - {"o5"},
            "ne2021": {"o5"},
            "eq2020": set(),
            "gt2020": every,
            "sa2020": every,
        },
        obs,
    )


def test_last_updated(client) -> None:
    fam = f"Lu{_uid()}"
    first = client.post(
        "/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": fam}]}
    ).json()
    time.sleep(0.01)
    second = client.post(
        "/fhir/Patient", json={"resourceType": "Patient", "name": [{"family": fam}]}
    ).json()
    lu1, lu2 = first["meta"]["lastUpdated"], second["meta"]["lastUpdated"]
    assert lu1 < lu2
    pats = {"first": first["id"], "second": second["id"]}
    _table(
        client,
        "Patient",
        {"family": fam},
        "_lastUpdated",
        {
            f"gt{lu1}": {"second"},
            f"ge{lu1}": {"first", "second"},
            f"lt{lu2}": {"first"},
            f"le{lu2}": {"first", "second"},
            lu1: {"first"},
            f"gt{lu2}": set(),
            "gt2000": {"first", "second"},
            "lt2000": set(),
        },
        pats,
    )


# ----------------------------------------------------------------------------- number, quantity


def _qty(
    value: float, unit: str | None = None, code: str | None = None, system: str | None = UCUM
) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if unit:
        q["unit"] = unit
    if code:
        q["code"] = code
        q["system"] = system
    return q


def test_quantity_implicit_precision_and_units(client) -> None:
    s = f"http://example.org/qty/{_uid()}"
    obs = {
        "a": _create(client, _obs(s, "q", valueQuantity=_qty(5.4, "mg", "mg"))),
        "b": _create(client, _obs(s, "q", valueQuantity=_qty(5.44, "mg", "mg"))),
        "c": _create(client, _obs(s, "q", valueQuantity=_qty(5.46, "mg", "mg"))),
        "d": _create(client, _obs(s, "q", valueQuantity=_qty(5.4, "g", "g"))),
        "e": _create(client, _obs(s, "q", valueQuantity=_qty(5.4, "mg"))),  # unit text only
    }
    _table(
        client,
        "Observation",
        {"code": f"{s}|q"},
        "value-quantity",
        {
            "5.4": {"a", "b", "d", "e"},  # 5.4 means [5.35, 5.45)
            "5.40": {"a", "d", "e"},  # 5.40 means [5.395, 5.405)
            f"5.4|{UCUM}|mg": {"a", "b"},
            "5.4||mg": {"a", "b", "e"},  # no system: the code is matched on code or unit
            f"5.4|{UCUM}|g": {"d"},
            f"ne5.4|{UCUM}|mg": {"c"},
            f"eq5.46|{UCUM}|mg": {"c"},
            "6": set(),
        },
        obs,
    )


def test_quantity_comparison_prefixes(client) -> None:
    s = f"http://example.org/qty/{_uid()}"
    vals = {
        "3mg": (3, "mg"),
        "5.4mg": (5.4, "mg"),
        "7mg": (7, "mg"),
        "100mg": (100, "mg"),
        "7g": (7, "g"),
    }
    obs = {
        label: _create(client, _obs(s, "q", valueQuantity=_qty(v, unit, unit)))
        for label, (v, unit) in vals.items()
    }
    mg = f"|{UCUM}|mg"
    _table(
        client,
        "Observation",
        {"code": f"{s}|q"},
        "value-quantity",
        {
            f"gt5.4{mg}": {"7mg", "100mg"},
            f"lt5.4{mg}": {"3mg"},
            f"ge5.4{mg}": {"5.4mg", "7mg", "100mg"},
            f"le5.4{mg}": {"3mg", "5.4mg"},
            "gt5.4": {"7mg", "100mg", "7g"},
            f"ne7{mg}": {"3mg", "5.4mg", "100mg"},
            f"ap100{mg}": {"100mg"},
            f"gt1000{mg}": set(),
        },
        obs,
    )


def test_number_probability(client) -> None:
    pid = _create(client, {"resourceType": "Patient"})
    ras = {
        label: _create(
            client,
            {
                "resourceType": "RiskAssessment",
                "status": "final",
                "subject": {"reference": f"Patient/{pid}"},
                "prediction": [{"probabilityDecimal": p}],
            },
        )
        for label, p in {"0.3": 0.3, "0.34": 0.34, "0.36": 0.36, "0.8": 0.8}.items()
    }
    _table(
        client,
        "RiskAssessment",
        {"subject": f"Patient/{pid}"},
        "probability",
        {
            "0.3": {"0.3", "0.34"},
            "0.30": {"0.3"},
            "gt0.5": {"0.8"},
            "le0.34": {"0.3", "0.34"},
            "ne0.3": {"0.36", "0.8"},
            "lt0.1": set(),
        },
        ras,
    )


# ----------------------------------------------------------------------------- reference


def test_reference_forms(client, settings) -> None:
    u = _uid()
    s = f"http://example.org/ref/{u}"
    shared = f"r{u}"  # a Patient and a Group with the same id
    _put(client, {"resourceType": "Patient", "id": shared})
    _put(client, {"resourceType": "Group", "id": shared, "type": "person", "actual": True})
    other = _create(client, {"resourceType": "Patient"})
    ident = f"urn:sys:{u}"
    obs = {
        "pat": _create(client, _obs(s, "r", subject={"reference": f"Patient/{shared}"})),
        "grp": _create(client, _obs(s, "r", subject={"reference": f"Group/{shared}"})),
        "other": _create(client, _obs(s, "r", subject={"reference": f"Patient/{other}"})),
        "ident": _create(
            client,
            _obs(
                s,
                "r",
                subject={"type": "Patient", "identifier": {"system": ident, "value": "12345"}},
            ),
        ),
        "none": _create(client, _obs(s, "r")),
    }
    base = settings.fhir_base_url
    _table(
        client,
        "Observation",
        {"code": f"{s}|r"},
        "subject",
        {
            f"Patient/{shared}": {"pat"},
            shared: {"pat", "grp"},
            f"Group/{shared}": {"grp"},
            f"{base}/Patient/{shared}": {"pat"},
            f"Patient/{shared},Patient/{other}": {"pat", "other"},
            f"Patient/{shared}/_history/1": {"pat"},
        },
        obs,
    )
    _table(
        client,
        "Observation",
        {"code": f"{s}|r"},
        "subject:Patient",
        {shared: {"pat"}, other: {"other"}},
        obs,
    )
    _table(client, "Observation", {"code": f"{s}|r"}, "subject:Group", {shared: {"grp"}}, obs)
    _table(
        client,
        "Observation",
        {"code": f"{s}|r"},
        "patient",
        {shared: {"pat"}, f"Patient/{shared}": {"pat"}},
        obs,
    )
    _table(
        client,
        "Observation",
        {"code": f"{s}|r"},
        "subject:identifier",
        {f"{ident}|12345": {"ident"}, "12345": {"ident"}, f"{ident}|999": set()},
        obs,
    )
    # (a reference by identifier only is left out: whether it counts as missing is moot)
    scope = {"code": f"{s}|r"}
    missing = _ids(client, "Observation", {**scope, "subject:missing": "true"})
    present = _ids(client, "Observation", {**scope, "subject:missing": "false"})
    assert missing - {obs["ident"]} == {obs["none"]}
    assert present - {obs["ident"]} == {obs["pat"], obs["grp"], obs["other"]}


@pytest.mark.xfail(
    strict=True,
    reason="known gap: an absolute reference to another server "
    "also matches a local Type/id search (docs/conformance.md)",
)
def test_reference_absolute_url_to_another_server(client) -> None:
    u = _uid()
    s = f"http://example.org/ref/{u}"
    pid = f"x{u}"
    _put(client, {"resourceType": "Patient", "id": pid})
    external = f"http://other.example.org/fhir/Patient/{pid}"
    obs = {
        "local": _create(client, _obs(s, "r", subject={"reference": f"Patient/{pid}"})),
        "external": _create(client, _obs(s, "r", subject={"reference": external})),
    }
    # an absolute reference to another server is not the local Patient with that id
    _table(
        client,
        "Observation",
        {"code": f"{s}|r"},
        "subject",
        {external: {"external"}, f"Patient/{pid}": {"local"}, pid: {"local"}},
        obs,
    )


# ----------------------------------------------------------------------------- uri


def test_uri_exact_below_above(client) -> None:
    root = f"http://example.org/{_uid()}"
    urls = {
        "vs": f"{root}/ValueSet",
        "a": f"{root}/ValueSet/a",
        "ab": f"{root}/ValueSet/a/b",
        "cs": f"{root}/CodeSystem/x",
    }
    vss = {
        label: _create(client, {"resourceType": "ValueSet", "status": "active", "url": url})
        for label, url in urls.items()
    }
    _table(
        client,
        "ValueSet",
        [],
        "url",
        {
            urls["a"]: {"a"},
            f"{root}/ValueSet/A": set(),
            f"{root}/ValueSet/": set(),
            f"{urls['a']},{urls['cs']}": {"a", "cs"},
        },
        vss,
    )
    _table(
        client,
        "ValueSet",
        [],
        "url:below",
        {
            f"{root}/ValueSet": {"vs", "a", "ab"},
            urls["a"]: {"a", "ab"},
            root: set(vss),
            f"{root}/Nothing": set(),
        },
        vss,
    )
    _table(
        client,
        "ValueSet",
        [],
        "url:above",
        {
            f"{root}/ValueSet/a/b/c": {"vs", "a", "ab"},
            urls["a"]: {"vs", "a"},
            f"{root}/CodeSystem/x/1.0": {"cs"},
        },
        vss,
    )


# ----------------------------------------------------------------------------- composite


def _bp(pid: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        **extra,
    }


def _loinc(code: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code}]}


def test_composite_code_value_quantity(client) -> None:
    pid = _create(client, {"resourceType": "Patient"})
    mmhg = {"unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}

    def comp(code: str, v: int) -> dict[str, Any]:
        return {"code": _loinc(code), "valueQuantity": {"value": v, **mmhg}}

    obs = {
        "panel1": _create(
            client,
            _bp(pid, code=_loinc("85354-6"), component=[comp("8480-6", 120), comp("8462-4", 80)]),
        ),
        "panel2": _create(
            client,
            _bp(pid, code=_loinc("85354-6"), component=[comp("8480-6", 90), comp("8462-4", 130)]),
        ),
        "sys150": _create(
            client, _bp(pid, code=_loinc("8480-6"), valueQuantity={"value": 150, **mmhg})
        ),
        "sys95": _create(
            client, _bp(pid, code=_loinc("8480-6"), valueQuantity={"value": 95, **mmhg})
        ),
    }
    scope = {"subject": f"Patient/{pid}"}
    _table(
        client,
        "Observation",
        scope,
        "code-value-quantity",
        {
            f"{LOINC}|8480-6$gt100": {"sys150"},
            "8480-6$lt100": {"sys95"},
            f"{LOINC}|8480-6$150|{UCUM}|mm[Hg]": {"sys150"},
            f"{LOINC}|8480-6$150|{UCUM}|g": set(),
            f"{LOINC}|8462-4$gt100": set(),
        },
        obs,
    )
    # the two halves must come from the same component
    _table(
        client,
        "Observation",
        scope,
        "component-code-value-quantity",
        {
            f"{LOINC}|8480-6$gt100": {"panel1"},
            f"{LOINC}|8462-4$gt100": {"panel2"},
            f"{LOINC}|8462-4$lt100": {"panel1"},
            f"{LOINC}|8480-6$gt200": set(),
        },
        obs,
    )
    _table(
        client,
        "Observation",
        scope,
        "combo-code-value-quantity",
        {
            f"{LOINC}|8480-6$gt100": {"panel1", "sys150"},
        },
        obs,
    )


# ----------------------------------------------------------------------------- Resource params


def test_id_single_and_list(client) -> None:
    fam = f"Id{_uid()}"
    a, b, c = (
        _create(client, {"resourceType": "Patient", "name": [{"family": fam}]}) for _ in range(3)
    )
    assert _ids(client, "Patient", {"_id": a}) == {a}
    assert _ids(client, "Patient", {"_id": f"{a},{b}"}) == {a, b}
    assert _ids(client, "Patient", {"_id": f"{a},{b}", "family": fam}) == {a, b}
    assert _ids(client, "Patient", {"_id": "no-such-id"}) == set()
    assert _ids(client, "Observation", {"_id": a}) == set()
    assert _ids(client, "Patient", [("_id", f"{a},{b}"), ("_id", f"{b},{c}")]) == {b}


def test_tag_profile_security(client) -> None:
    u = _uid()
    tags, sec = f"urn:tags:{u}", f"urn:sec:{u}"
    prof = f"http://example.org/{u}/StructureDefinition/no-patient"
    fam = f"Meta{u}"

    def pat(**meta: Any) -> str:
        return _create(client, {"resourceType": "Patient", "name": [{"family": fam}], "meta": meta})

    pats = {
        "tagged": pat(tag=[{"system": tags, "code": "vip"}]),
        "other-tag": pat(tag=[{"system": tags, "code": "test"}]),
        "profiled": pat(profile=[prof]),
        "secret": pat(security=[{"system": sec, "code": "R"}]),
    }
    scope = {"family": fam}
    _table(
        client,
        "Patient",
        scope,
        "_tag",
        {
            f"{tags}|vip": {"tagged"},
            f"{tags}|": {"tagged", "other-tag"},
            "vip": {"tagged"},
            f"{tags}|R": set(),
        },
        pats,
    )
    _table(client, "Patient", scope, "_profile", {prof: {"profiled"}, prof + "x": set()}, pats)
    _table(
        client, "Patient", scope, "_security", {f"{sec}|R": {"secret"}, f"{tags}|R": set()}, pats
    )
    _table(client, "Patient", scope, "_tag:not", {f"{tags}|vip": set(pats) - {"tagged"}}, pats)
