"""Allergies, "no known allergies" and critical information in the workspace, in
process on both databases: add, see in the banner, end with a reason (409 on a change
made meanwhile), bad input answered 400 with the form as typed, CSRF, roles, no access."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.clinical import critical_info as ci
from fellesjournal.settings import Settings
from tests.web.chart_records import (
    GP,
    GP_OFFICE,
    GP_SECRETARY,
    OTHER_OFFICE,
    WARD_NURSE,
    end_entry,
    field_value,
    listed,
    seen_by_gp,
    stored,
)
from tests.web.conftest import csrf_of, sign_in


def _active(entries: dict[str, tuple[int, Any]]) -> dict[str, tuple[int, Any]]:
    def on(body: Any) -> bool:
        codes = (body.get("clinicalStatus") or {}).get("coding") or ()
        return body.get("status") == "active" or any(c.get("code") == "active" for c in codes)

    return {k: v for k, v in entries.items() if on(v[1])}


def _without_allergies(web: TestClient, settings: Settings) -> str:
    """A patient of the GP office with no active allergy entry (from the last)."""
    for patient_id in reversed(listed(settings, GP_OFFICE)):
        if not _active(stored(settings, "AllergyIntolerance", patient_id)):
            return patient_id
    raise AssertionError("every patient at the office has allergies")


def test_add_a_critical_allergy_see_it_in_the_banner_and_end_it(
    web: TestClient, ws_settings: Settings
) -> None:
    sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-2]
    overview = web.get(f"/patients/{patient_id}")
    assert f'href="/patients/{patient_id}/allergies"' in overview.text
    page = web.get(f"/patients/{patient_id}/allergies")
    assert page.status_code == 200
    assert '<option value="Penicilliner">' in page.text  # the list of common substances
    csrf = csrf_of(page.text)
    url = f"/patients/{patient_id}/allergies"

    typo = web.post(
        url,
        data={"csrf": csrf, "substance": "Penicilliner", "criticality": "low", "critical": "1"},
    )
    assert typo.status_code == 400  # critical information needs high criticality
    assert field_value(typo.text, "substance") == "Penicilliner"  # kept as typed
    assert re.search(r'aria-describedby="err-criticality"', typo.text)
    assert 'id="err-criticality"' in typo.text
    assert not stored(ws_settings, "Flag", patient_id) or not any(
        ci.detail_of(b) for _v, b in stored(ws_settings, "Flag", patient_id).values()
    )

    saved = web.post(
        url,
        data={
            "csrf": csrf,
            "substance": "penicilliner",
            "type": "allergy",
            "criticality": "high",
            "manifestation": "Anafylaksi",
            "severity": "severe",
            "verification": "confirmed",
            "critical": "1",
        },
        follow_redirects=False,
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"/patients/{patient_id}")
    banner = web.get(f"/patients/{patient_id}").text
    assert "Allergi: Penicilliner (høy risiko)" in banner
    assert "Kritisk informasjon: Anafylaksi ved Penicilliner" in banner

    allergies = stored(ws_settings, "AllergyIntolerance", patient_id)
    (allergy_id, (version, allergy)) = next(
        (k, v) for k, v in allergies.items() if v[1]["code"].get("text") == "Penicilliner"
    )
    assert allergy["code"]["coding"][0]["code"] == "J01C"  # ATC, from the list
    assert allergy["recorder"]["reference"] == "Practitioner/hpr-990001483"
    assert allergy["recorder"]["display"] == "Marit Myklebust"
    flags = [
        (k, v)
        for k, v in stored(ws_settings, "Flag", patient_id).items()
        if ci.detail_of(v[1]) == f"AllergyIntolerance/{allergy_id}"
    ]
    assert len(flags) == 1 and ci.category_key(flags[0][1][1]) == "drug-reaction"

    end_url = f"/patients/{patient_id}/allergies/{allergy_id}/end"
    assert end_url in web.get(url).text
    form = web.get(end_url)
    assert form.status_code == 200
    no_reason = web.post(end_url, data={"csrf": csrf, "version": str(version), "how": "refuted"})
    assert no_reason.status_code == 400
    assert 'id="err-reason"' in no_reason.text
    stale = web.post(
        end_url,
        data={"csrf": csrf, "version": str(version - 1 or 99), "how": "refuted", "reason": "x"},
    )
    assert stale.status_code == 409
    assert "endret" in stale.text  # "Noen har endret ..."
    done = end_entry(web, end_url, csrf, version, "refuted", "provokasjonstest negativ")
    assert done.status_code == 303
    banner = web.get(f"/patients/{patient_id}").text
    assert "Penicilliner" not in banner
    new_version, ended = stored(ws_settings, "AllergyIntolerance", patient_id)[allergy_id]
    assert new_version == version + 1  # updated, not deleted: history keeps the old one
    assert ended["verificationStatus"]["coding"][0]["code"] == "refuted"
    assert ended["note"][-1]["text"] == "Avkreftet: provokasjonstest negativ"
    assert ended["note"][-1]["authorReference"]["display"] == "Marit Myklebust"
    flag = stored(ws_settings, "Flag", patient_id)[flags[0][0]][1]
    assert flag["status"] == "inactive" and "end" in flag["period"]  # ended with it
    again = web.get(end_url)
    assert again.status_code == 409  # no longer active


def test_no_known_allergies_then_a_real_one(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id = _without_allergies(web, ws_settings)
    url = f"/patients/{patient_id}/allergies"
    page = web.get(url)
    assert 'id="no-known-allergies"' in page.text
    csrf = csrf_of(page.text)
    assert web.post(url, data={"csrf": csrf, "nka": "1"}, follow_redirects=False).status_code == 303
    assert web.post(url, data={"csrf": csrf, "nka": "1"}).status_code == 200  # no duplicate
    entries = _active(stored(ws_settings, "AllergyIntolerance", patient_id))
    assert len(entries) == 1
    nka_id, (_v, nka) = next(iter(entries.items()))
    assert nka["code"]["coding"][0]["code"] == "716186003"
    banner = web.get(f"/patients/{patient_id}").text
    assert re.search(r'<li class="alert none">Ingen kjente allergier \(\d\d\.\d\d\.\d{4}\)', banner)

    saved = web.post(
        url,
        data={"csrf": csrf, "substance": "Jordbær", "category": "food", "criticality": "low"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    entries = _active(stored(ws_settings, "AllergyIntolerance", patient_id))
    assert nka_id not in entries  # the real allergy ended "no known allergies"
    assert [b["code"] for _v, b in entries.values()] == [{"text": "Jordbær"}]
    refused = web.post(url, data={"csrf": csrf, "nka": "1"})
    assert refused.status_code == 400
    assert 'id="err-nka"' in refused.text


def test_add_and_end_critical_information(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-3]
    url = f"/patients/{patient_id}/critical-information"
    page = web.get(url)
    assert page.status_code == 200
    assert 'value="treatment"' in page.text and 'value="drug-reaction"' not in page.text
    assert f"/patients/{patient_id}/allergies?critical=1" in page.text
    csrf = csrf_of(page.text)
    bad = web.post(url, data={"csrf": csrf, "text": "Hemodialyse", "start": "31.02.2026"})
    assert bad.status_code == 400
    assert 'id="err-category"' in bad.text and 'id="err-start"' in bad.text
    assert "Hemodialyse</textarea>" in bad.text
    future = web.post(
        url, data={"csrf": csrf, "category": "treatment", "text": "x", "start": "2999-01-01"}
    )
    assert future.status_code == 400
    saved = web.post(
        url,
        data={
            "csrf": csrf,
            "category": "treatment",
            "text": "Hemodialyse tir/tor/lør",
            "start": "2026-01-05",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Kritisk informasjon: Hemodialyse tir/tor/lør" in web.get(f"/patients/{patient_id}").text
    flag_id, (version, flag) = next(
        (k, v)
        for k, v in stored(ws_settings, "Flag", patient_id).items()
        if v[1]["code"]["text"] == "Hemodialyse tir/tor/lør"
    )
    assert flag["period"] == {"start": "2026-01-05"}
    assert flag["author"]["reference"] == "Practitioner/hpr-990001483"
    assert ci.category_key(flag) == "treatment"

    end_url = f"/patients/{patient_id}/critical-information/{flag_id}/end"
    assert end_url in web.get(url).text
    weird = web.post(end_url, data={"csrf": csrf, "version": str(version), "how": "deleted"})
    assert weird.status_code == 400
    assert web.post(
        end_url, data={"csrf": csrf, "version": "x", "how": "inactive"}
    ).status_code == (400)
    assert (
        web.post(
            end_url,
            data={"csrf": csrf, "version": "999", "how": "inactive", "reason": "feil pasient"},
        ).status_code
        == 409
    )
    done = end_entry(web, end_url, csrf, version, "entered-in-error", "feil pasient")
    assert done.status_code == 303
    assert "Hemodialyse" not in web.get(f"/patients/{patient_id}").text
    new_version, ended = stored(ws_settings, "Flag", patient_id)[flag_id]
    assert new_version == version + 1 and ended["status"] == "entered-in-error"
    change = {e["url"]: e for e in ended["extension"][-1]["extension"]}
    assert change["reason"]["valueString"] == "feil pasient"
    assert change["author"]["valueReference"]["display"] == "Marit Myklebust"


def test_roles_that_do_not_write_the_type_get_the_forbidden_page(
    web: TestClient, ws_settings: Settings
) -> None:
    home = sign_in(web, GP_SECRETARY)
    patient_id = listed(ws_settings, GP_OFFICE)[-2]
    overview = web.get(f"/patients/{patient_id}")
    assert overview.status_code == 200
    assert f"/patients/{patient_id}/allergies" not in overview.text  # no link to a refusal
    assert web.get(f"/patients/{patient_id}/allergies").status_code == 403
    data = {"csrf": csrf_of(home.text), "substance": "Egg", "criticality": "low"}
    before = stored(ws_settings, "AllergyIntolerance", patient_id)
    assert web.post(f"/patients/{patient_id}/allergies", data=data).status_code == 403
    assert stored(ws_settings, "AllergyIntolerance", patient_id) == before
    # A secretary sees critical information in the banner but does not register it
    # (access/roles.py): doctors and nurses do.
    assert web.get(f"/patients/{patient_id}/critical-information").status_code == 403
    flag = {"csrf": csrf_of(home.text), "category": "infection", "text": "MRSA"}
    before_flags = stored(ws_settings, "Flag", patient_id)
    assert web.post(f"/patients/{patient_id}/critical-information", data=flag).status_code == 403
    assert stored(ws_settings, "Flag", patient_id) == before_flags


def test_a_nurse_records_an_allergy(web: TestClient, ws_settings: Settings) -> None:
    home = sign_in(web, WARD_NURSE)
    patient_id = listed(ws_settings, GP_OFFICE)[-4]
    csrf = csrf_of(home.text)
    granted = web.post(
        "/patients/break-glass",
        data={"csrf": csrf, "patient_id": patient_id, "reason": "emergency", "text": "innlagt"},
        follow_redirects=False,
    )
    assert granted.status_code == 303
    saved = web.post(
        f"/patients/{patient_id}/allergies",
        data={"csrf": csrf, "substance": "Lateks", "criticality": "unable-to-assess"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    latex = [
        b
        for _v, b in stored(ws_settings, "AllergyIntolerance", patient_id).values()
        if b["code"].get("text") == "Lateks"
    ]
    assert latex and latex[0]["code"]["coding"][0]["code"] == "111088007"  # SNOMED CT
    assert latex[0]["recorder"]["reference"] == "Practitioner/hpr-990000030"


def test_posts_need_the_session_csrf_token(web: TestClient, ws_settings: Settings) -> None:
    home = sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-5]
    base = f"/patients/{patient_id}"
    csrf = csrf_of(home.text)
    entry = {"substance": "Egg", "category": "food", "text": "Pacemaker", "start": "2026-01-01"}
    made = web.post(f"{base}/allergies", data={"csrf": csrf, **entry}, follow_redirects=False)
    assert made.status_code == 303
    data = {**entry, "category": "implant"}
    made = web.post(
        f"{base}/critical-information", data={"csrf": csrf, **data}, follow_redirects=False
    )
    assert made.status_code == 303
    allergy = next(iter(stored(ws_settings, "AllergyIntolerance", patient_id)))
    flag = next(iter(stored(ws_settings, "Flag", patient_id)))

    def state() -> Any:
        return (
            stored(ws_settings, "AllergyIntolerance", patient_id),
            stored(ws_settings, "Flag", patient_id),
        )

    before = state()
    forged = {**data, "csrf": "forged", "nka": "1", "reason": "x", "how": "inactive"}
    for path in (
        "/allergies",
        "/critical-information",
        f"/allergies/{allergy}/end",
        f"/critical-information/{flag}/end",
    ):
        assert web.post(base + path, data={**forged, "version": "1"}).status_code == 403
        assert web.post(base + path, data={**forged, "csrf": ""}).status_code == 403
    assert state() == before


def test_no_access_answers_404_without_saying_whether_it_exists(
    web: TestClient, ws_settings: Settings
) -> None:
    sign_in(web, GP)
    stranger = listed(ws_settings, OTHER_OFFICE)[4]
    for path in ("/allergies", "/critical-information"):
        assert web.get(f"/patients/{stranger}{path}").status_code == 404
    own = listed(ws_settings, GP_OFFICE)[-2]
    theirs = next(iter(stored(ws_settings, "AllergyIntolerance", stranger)), "none")
    assert web.get(f"/patients/{stranger}/allergies/{theirs}/end").status_code == 404
    # another patient's entry under a patient one may see: the same 404
    mine = next(iter(stored(ws_settings, "Flag", own)), None)
    other_own = listed(ws_settings, GP_OFFICE)[-3]
    if mine is not None:
        assert web.get(f"/patients/{other_own}/critical-information/{mine}/end").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/patients/bad$id!/allergies",
        "/patients/bad$id!/critical-information",
        "/patients/{p}/allergies/bad$id!/end",
        "/patients/{p}/critical-information/bad$id!/end",
        "/patients/{p}/allergies/nope/end",
    ],
)
def test_bad_paths_get_a_page_not_an_error(
    web: TestClient, ws_settings: Settings, path: str
) -> None:
    resp = seen_by_gp(web, ws_settings, path, -2)
    assert 400 <= resp.status_code < 500 and "<html" in resp.text


@pytest.mark.parametrize(
    "data",
    [
        {"substance": "Egg", "type": "maybe"},
        {"substance": "Egg", "criticality": "high", "severity": "severe"},
        {"substance": "x" * 5000},
        {"substance": "Egg\x00", "verification": "refuted"},
        {"substance": "Egg", "category": ["food", "drug"]},
    ],
)
def test_bad_allergy_forms_answer_400(
    web: TestClient, ws_settings: Settings, data: dict[str, Any]
) -> None:
    sign_in(web, GP)
    patient_id = listed(ws_settings, GP_OFFICE)[-2]
    page = web.get(f"/patients/{patient_id}/allergies")
    resp = web.post(f"/patients/{patient_id}/allergies", data={"csrf": csrf_of(page.text), **data})
    assert resp.status_code == 400 and "<html" in resp.text
