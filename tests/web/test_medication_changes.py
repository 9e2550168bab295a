"""Starting a medication and changing its dose in the workspace, in process on both
databases: a pick fills the form, the statement is coded and says who, when and why,
a dose change keeps the old version and reports a concurrent change (409), bad input is
answered 400 with the form as typed, CSRF, roles, no access."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.settings import Settings
from tests.web.chart_records import (
    GP,
    GP_OFFICE,
    GP_SECRETARY,
    OTHER_OFFICE,
    field_value,
    listed,
    old_version,
    seen_by_gp,
    selected_value,
    stored,
)
from tests.web.conftest import csrf_of, sign_in

TYPE = "MedicationStatement"


def _start(web: TestClient, patient_id: str, **fields: str) -> Any:
    page = web.get(f"/patients/{patient_id}/medications/new")
    data = {"csrf": csrf_of(page.text), "start": field_value(page.text, "start") or "", **fields}
    return web.post(f"/patients/{patient_id}/medications/new", data=data, follow_redirects=False)


def _named(settings: Settings, patient_id: str, text: str) -> tuple[str, int, Any]:
    for res_id, (version, body) in stored(settings, TYPE, patient_id).items():
        if body["medicationCodeableConcept"].get("text") == text:
            return res_id, version, body
    raise AssertionError(f"no {text} for {patient_id}")


def _started(
    web: TestClient, settings: Settings, patient_id: str, medication: str, **fields: str
) -> tuple[str, int, Any]:
    """``medication`` started with ``fields``: its statement (id, version, JSON)."""
    saved = _start(web, patient_id, medication=medication, **fields)
    assert saved.status_code == 303, saved.text
    return _named(settings, patient_id, medication)


def test_start_paracetamol_from_the_list(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-1]
    overview = web.get(f"/patients/{patient_id}")
    assert f"/patients/{patient_id}/medications/new" in overview.text
    page = web.get(f"/patients/{patient_id}/medications/new")
    assert page.status_code == 200
    assert "?pick=paracetamol-500" in page.text  # the list of common medicines
    picked = web.get(f"/patients/{patient_id}/medications/new?pick=paracetamol-500")
    assert field_value(picked.text, "medication") == "Paracetamol 500 mg tablett"
    assert field_value(picked.text, "dose") == "2"
    assert selected_value(picked.text, "unit") == "tablett"
    assert selected_value(picked.text, "per_day") == "4"
    assert selected_value(picked.text, "route") == "oral"
    form = {
        name: field_value(picked.text, name) or ""
        for name in ("medication", "dose", "start", "times", "max_per_day")
    }
    form |= {"unit": "tablett", "per_day": "4", "route": "oral", "reason": "Hoftesmerter"}
    saved = web.post(
        f"/patients/{patient_id}/medications/new",
        data={"csrf": csrf_of(picked.text), **form},
        follow_redirects=False,
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"/patients/{patient_id}")
    assert "2 tabletter 4 ganger daglig" in web.get(f"/patients/{patient_id}").text
    _id, version, body = _named(ws_settings, patient_id, "Paracetamol 500 mg tablett")
    assert version == 1 and body["status"] == "active"
    assert body["medicationCodeableConcept"]["coding"][0]["code"] == "N02BE01"  # ATC
    assert body["reasonCode"] == [{"text": "Hoftesmerter"}]
    assert body["informationSource"] == {
        "reference": "Practitioner/hpr-990001483",
        "display": "Marit Myklebust",
    }
    assert body["note"][0]["text"] == "Startet: Hoftesmerter"
    assert body["note"][0]["authorReference"]["display"] == "Marit Myklebust"
    assert body["effectivePeriod"]["start"] == form["start"]
    dosage = body["dosage"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 2, "unit": "tablett"}
    assert dosage["timing"]["repeat"]["frequency"] == 4


def test_a_typed_medication_with_a_dosage_in_words(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-1]
    _id, _v, body = _started(
        web,
        ws_settings,
        patient_id,
        "Tranebærekstrakt kapsel",
        text="1 kapsel morgen og kveld i kurer",
        reason="Residiverende UVI",
    )
    assert body["medicationCodeableConcept"] == {"text": "Tranebærekstrakt kapsel"}  # no code
    assert body["dosage"] == [{"sequence": 1, "text": "1 kapsel morgen og kveld i kurer"}]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"dose": "2", "unit": "tablett", "per_day": "4"}, ["medication", "reason"]),
        ({"medication": "Paracet", "dose": "to", "unit": "tablett", "reason": "x"}, ["dose"]),
        ({"medication": "Paracet", "dose": "1", "unit": "tablett", "reason": "x"}, ["per_day"]),
        (
            {"medication": "Paracet", "dose": "1", "unit": "kg", "times": "25", "reason": "x"},
            ["unit", "times"],
        ),
        ({"medication": "Paracet", "text": "1x4", "reason": "x", "start": "2999-01-01"}, ["start"]),
        ({"medication": "Paracet", "text": "1x4", "reason": "x", "start": "30.02.2026"}, ["start"]),
        ({"medication": "x" * 300, "text": "1 x 4", "reason": "x"}, ["medication"]),
        ({"medication": "Paracet", "text": "1 x 4", "reason": "x" * 501}, ["reason"]),
    ],
)  # fmt: skip
def test_bad_input_answers_400_with_the_form_as_typed(
    web: TestClient, ws_settings: Settings, fields: dict[str, str], errors: list[str]
) -> None:
    sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-1]
    before = stored(ws_settings, TYPE, patient_id)
    resp = _start(web, patient_id, **fields)
    assert resp.status_code == 400
    for name in errors:
        assert f'id="err-{name}"' in resp.text, name
        assert f'aria-describedby="err-{name}"' in resp.text or f'err-{name}"' in resp.text
    for name in ("medication", "dose", "times"):
        if fields.get(name) and len(fields[name]) < 200:
            assert field_value(resp.text, name) == fields[name]  # kept as typed
    assert stored(ws_settings, TYPE, patient_id) == before


def test_change_a_dose_with_a_reason_and_a_version_check(
    web: TestClient, ws_settings: Settings
) -> None:
    sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-3]
    statement_id, version, _body = _started(
        web,
        ws_settings,
        patient_id,
        "Metformin 500 mg tablett",
        dose="1",
        unit="tablett",
        per_day="2",
        reason="Diabetes type 2",
    )
    url = f"/patients/{patient_id}/medications/{statement_id}/dose"
    assert url in web.get(f"/patients/{patient_id}").text
    form = web.get(url)
    assert form.status_code == 200
    assert "1 tablett 2 ganger daglig" in form.text  # what it is now
    assert field_value(form.text, "dose") == "1" and selected_value(form.text, "per_day") == "2"
    csrf = csrf_of(form.text)
    new = {"dose": "2", "unit": "tablett", "per_day": "2", "route": "oral"}

    same = web.post(url, data={"csrf": csrf, "version": str(version), "dose": "1",
                               "unit": "tablett", "per_day": "2", "reason": "x"})  # fmt: skip
    assert same.status_code == 400
    no_reason = web.post(url, data={"csrf": csrf, "version": str(version), **new})
    assert no_reason.status_code == 400 and 'id="err-reason"' in no_reason.text
    assert web.post(url, data={"csrf": csrf, "version": "v1", **new}).status_code == 400
    done = web.post(
        url,
        data={"csrf": csrf, "version": str(version), **new, "reason": "HbA1c 62"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "2 tabletter 2 ganger daglig" in web.get(f"/patients/{patient_id}").text
    _i, now_version, body = _named(ws_settings, patient_id, "Metformin 500 mg tablett")
    assert now_version == version + 1
    note = body["note"][-1]
    assert note["text"] == (
        "Dose endret fra «1 tablett 2 ganger daglig» til «2 tabletter 2 ganger daglig»: HbA1c 62"
    )
    assert note["authorReference"]["reference"] == "Practitioner/hpr-990001483" and note["time"]
    assert old_version(ws_settings, TYPE, statement_id, version)["dosage"][0]["text"] == (
        "1 tablett 2 ganger daglig"  # the history keeps the old version
    )

    # A second user's form, shown before the change above, is now stale: 409, not saved.
    stale = web.post(
        url,
        data={"csrf": csrf, "version": str(version), "dose": "3", "unit": "tablett",
              "per_day": "2", "reason": "dobbeltarbeid"},
    )  # fmt: skip
    assert stale.status_code == 409
    assert "2 tabletter 2 ganger daglig" in stale.text  # shows what it says now
    assert field_value(stale.text, "dose") == "3"  # and keeps what was typed
    assert f'name="version" value="{now_version}"' in stale.text  # to save it deliberately
    assert _named(ws_settings, patient_id, "Metformin 500 mg tablett")[1] == now_version

    stop = f"/patients/{patient_id}/medications/{statement_id}/stop"
    stopped = web.post(
        stop, data={"csrf": csrf, "version": str(now_version), "reason": "GFR falt"},
        follow_redirects=False,
    )  # fmt: skip
    assert stopped.status_code == 303
    assert web.get(url).status_code == 409  # no longer on the list


def test_a_secretary_may_not_start_or_change_medication(
    web: TestClient, ws_settings: Settings
) -> None:
    home = sign_in(web, GP_SECRETARY)
    patient_id = listed(ws_settings, GP_OFFICE)[-1]
    assert web.get(f"/patients/{patient_id}/medications/new").status_code == 403
    data = {"csrf": csrf_of(home.text), "medication": "Paracet", "text": "1x4", "reason": "x"}
    before = stored(ws_settings, TYPE, patient_id)
    assert web.post(f"/patients/{patient_id}/medications/new", data=data).status_code == 403
    assert stored(ws_settings, TYPE, patient_id) == before
    some = next(iter(before), "none")
    assert web.get(f"/patients/{patient_id}/medications/{some}/dose").status_code == 403


def test_forged_posts_and_strangers_are_refused(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-3]
    statement_id, version, _b = _started(
        web, ws_settings, patient_id, "Cetirizin 10 mg tablett", text="1 om kvelden",
        reason="Pollenallergi",
    )  # fmt: skip
    before = stored(ws_settings, TYPE, patient_id)
    data = {"csrf": "forged", "medication": "Paracet", "text": "1x4", "reason": "x"}
    assert web.post(f"/patients/{patient_id}/medications/new", data=data).status_code == 403
    dose = f"/patients/{patient_id}/medications/{statement_id}/dose"
    data |= {"version": str(version), "dose": "1", "unit": "tablett", "per_day": "1"}
    assert web.post(dose, data=data).status_code == 403
    assert stored(ws_settings, TYPE, patient_id) == before

    stranger = listed(ws_settings, OTHER_OFFICE)[4]
    assert web.get(f"/patients/{stranger}/medications/new").status_code == 404
    theirs = next(iter(stored(ws_settings, TYPE, stranger)), "none")
    assert web.get(f"/patients/{stranger}/medications/{theirs}/dose").status_code == 404
    # a statement of one's own patient under another patient's path: the same 404
    other = listed(ws_settings, GP_OFFICE)[-1]
    assert web.get(f"/patients/{other}/medications/{statement_id}/dose").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/patients/bad$id!/medications/new",
        "/patients/{p}/medications/bad$id!/dose",
        "/patients/{p}/medications/nope/dose",
        "/patients/{p}/medications/new?pick=%00",
    ],
)
def test_bad_paths_get_a_page_not_an_error(
    web: TestClient, ws_settings: Settings, path: str
) -> None:
    resp = seen_by_gp(web, ws_settings, path, -1)
    assert resp.status_code < 500 and "<html" in resp.text
