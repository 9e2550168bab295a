"""The workspace in process: sign-in (code flow with PKCE), work context, start page,
search, overview, break-the-glass, "why can I see this?", CSRF, idle timeout, headers,
and the audit trail of what the pages show."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from fellesjournal.audit import log
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.web import session as web_session
from fellesjournal.web.demo_users import demo_users
from tests.web.conftest import csrf_of, path_of, sign_in

GP = "990001483"  # Marit Myklebust, doctor at Orkland legekontor (demo_users.py)
GP_OFFICE = "kommune-5059-fastlegekontor"
OTHER_OFFICE = "kommune-5001-fastlegekontor-6"  # Midtbyen legesenter, Trondheim


def _listed(ws_settings: Settings, office: str) -> list[tuple[str, str]]:
    """(id, fødselsnummer) of the patients listed with a GP office, as stored."""
    store = SqlStore.from_settings(ws_settings)
    try:
        with store.snapshot() as tx:
            rows = tx.execute(
                sa.text(
                    "SELECT res_id, CAST(content AS TEXT) FROM resources "
                    "WHERE res_type = 'Patient' AND deleted = false "
                    "AND CAST(content AS TEXT) LIKE :office ORDER BY res_id"
                ),
                {"office": f'%"Organization/{office}"%'},
            )
            out = []
            for res_id, content in rows:
                fnr = re.search(r'"value":\s*"(\d{11})"', content)
                out.append((res_id, fnr.group(1) if fnr else ""))
            return out
    finally:
        store.dispose()


def _events(app: Any, patient_id: str) -> list[dict[str, Any]]:
    store = app.state.store
    settle_audit_of(app)
    with store.snapshot() as tx:
        return log.events_for_patient(tx, patient_id, count=100)


def settle_audit_of(app: Any) -> None:
    app.state.audit_sink.drain()


def test_pages_ask_to_sign_in_and_the_sign_in_uses_pkce(web: TestClient) -> None:
    first = web.get("/", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/signin")
    start = web.get("/signin", follow_redirects=False)
    location = start.headers["location"]
    assert location.startswith("/auth/authorize?")
    assert "code_challenge_method=S256" in location and "state=" in location
    page = web.get(location)
    assert page.status_code == 200
    for user in demo_users():
        assert user.name in page.text  # the demo users, with their unit
        assert user.unit_name in page.text


def test_a_gp_signs_in_and_sees_the_office_list(web: TestClient, ws_settings: Settings) -> None:
    home = sign_in(web, GP)
    assert path_of(home.url) == "/"  # one work context: chosen at once
    assert "Orkland legekontor" in home.text
    listed = _listed(ws_settings, GP_OFFICE)
    assert listed
    for patient_id, _ in listed:
        assert f'href="/patients/{patient_id}"' in home.text
    for patient_id, _ in _listed(ws_settings, OTHER_OFFICE):
        assert f'href="/patients/{patient_id}"' not in home.text
    cookie = next(c for c in web.cookies.jar if c.name == "fj_session")
    assert cookie.secure
    assert {k.lower() for k in cookie._rest} >= {"httponly", "samesite"}  # type: ignore[attr-defined]
    headers = home.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"


def test_the_overview_shows_the_record_and_logs_one_read(
    web: TestClient, ws_app: Any, ws_settings: Settings
) -> None:
    sign_in(web, GP)
    patient_id, fnr = _listed(ws_settings, GP_OFFICE)[0]
    # Other tests read this patient too (on this worker): compare by the newest event.
    before = max((int(e["id"]) for e in _events(ws_app, patient_id)), default=0)
    page = web.get(f"/patients/{patient_id}")
    assert page.status_code == 200
    assert fnr in page.text
    assert page.headers["cache-control"] == "no-store"
    events = [e for e in _events(ws_app, patient_id) if int(e["id"]) > before]
    assert len(events) == 1
    newest = events[0]
    assert newest["action"] == "R" and newest["outcome"] == "0"
    assert any(GP in str(a) for a in newest["agent"])


def test_search_by_number_opens_the_overview_in_one_step(
    web: TestClient, ws_settings: Settings
) -> None:
    sign_in(web, GP)
    patient_id, fnr = _listed(ws_settings, GP_OFFICE)[0]
    found = web.get(f"/patients?q={fnr}", follow_redirects=False)
    assert (found.status_code, found.headers["location"]) == (303, f"/patients/{patient_id}")


def test_no_care_relation_hides_the_patient_and_offers_break_the_glass(
    web: TestClient, ws_app: Any, ws_settings: Settings
) -> None:
    sign_in(web, GP)
    patient_id, fnr = _listed(ws_settings, OTHER_OFFICE)[0]
    found = web.get(f"/patients?q={fnr}", follow_redirects=False)
    assert found.status_code == 200
    assert f"/patients/{patient_id}" not in found.text  # not even a link
    assert 'name="number"' in found.text  # break-the-glass by the number typed
    hidden = web.get(f"/patients/{patient_id}")
    assert hidden.status_code == 404
    assert fnr not in hidden.text

    refused = web.post(
        "/patients/break-glass",
        data={"csrf": csrf_of(hidden.text), "patient_id": patient_id, "reason": "emergency"},
    )
    assert refused.status_code == 400  # a reason needs its text
    granted = web.post(
        "/patients/break-glass",
        data={
            "csrf": csrf_of(hidden.text),
            "number": fnr,
            "reason": "emergency",
            "text": "bevisstløs på legekontoret",
        },
        follow_redirects=False,
    )
    assert (granted.status_code, granted.headers["location"]) == (303, f"/patients/{patient_id}")
    assert web.get(f"/patients/{patient_id}").status_code == 200
    why = web.get(f"/patients/{patient_id}/access")
    assert why.status_code == 200
    events = _events(ws_app, patient_id)
    assert any(e["subtype"][0].get("code") == "break-the-glass" for e in events)


def test_forms_need_the_session_csrf_token(web: TestClient) -> None:
    home = sign_in(web, GP)
    assert web.post("/signout", data={"csrf": "forged"}).status_code == 403
    assert web.post("/context", data={"csrf": "forged", "role_id": "x"}).status_code == 403
    other = web.post("/context", data={"csrf": csrf_of(home.text), "role_id": "stolav-x-1"})
    assert other.status_code == 403  # not one of the user's roles
    assert web.get("/").status_code == 200  # still signed in
    out = web.post("/signout", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 200
    assert web.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_an_idle_session_ends(web: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(web, GP)
    assert web.get("/", follow_redirects=False).status_code == 200
    later = time.time() + 31 * 60
    monkeypatch.setattr(web_session.time, "time", lambda: later)
    assert web.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_a_forged_or_replayed_sign_in_is_refused(web: TestClient, ws_app: Any) -> None:
    start = web.get("/signin", follow_redirects=False)
    page = web.get(start.headers["location"])
    form = re.search(r'class="hpr">(.*?)</form>', page.text, re.S)
    assert form is not None
    data = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1)))
    data = {k: v.replace("&amp;", "&") for k, v in data.items()}
    data["hpr"] = GP
    back = web.post("/auth/authorize", data=data, follow_redirects=False)
    callback = back.headers["location"]
    wrong_state = re.sub(r"state=[^&]+", "state=forged", callback)
    assert web.get(wrong_state).status_code == 400
    with TestClient(ws_app, base_url="https://testserver") as thief:
        thief.get("/signin", follow_redirects=False)  # a session of its own, another verifier
        stolen = thief.get(callback)
        assert stolen.status_code == 400
    assert web.post("/auth/authorize", data={**data, "client_id": "evil"}).status_code == 400
    data["hpr"] = "123"
    assert web.post("/auth/authorize", data=data).status_code == 400


def test_the_store_is_reached_only_through_the_repository() -> None:
    """The workspace package never imports the store's SQL layer or SQLAlchemy."""
    from pathlib import Path

    import fellesjournal.web as web_pkg

    folder = Path(web_pkg.__file__).parent
    for source in folder.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "sqlalchemy" not in text, source.name
        assert "store.read_current" not in text, source.name


PRIVACY_OFFICER = "990000118"  # Nora Solberg, St. Olavs (demo_users.py)


def test_the_privacy_officer_reviews_a_break_the_glass(
    web: TestClient, ws_app: Any, ws_settings: Settings
) -> None:
    with TestClient(ws_app, base_url="https://testserver") as doctor:
        sign_in(doctor, GP)
        patient_id, _ = _listed(ws_settings, OTHER_OFFICE)[1]
        hidden = doctor.get(f"/patients/{patient_id}")
        granted = doctor.post(
            "/patients/break-glass",
            data={
                "csrf": csrf_of(hidden.text),
                "patient_id": patient_id,
                "reason": "consent",
                "text": "pasienten ba om det på telefon",
            },
            follow_redirects=False,
        )
        assert granted.status_code == 303
        assert doctor.get("/review").status_code == 403  # a GP is no privacy officer

    home = sign_in(web, PRIVACY_OFFICER)
    assert 'href="/review"' in home.text
    queue = web.get("/review?reason=break-the-glass")
    assert queue.status_code == 200
    row = re.search(
        rf'<tr id="item-(\d+)">(?:(?!</tr>).)*{re.escape(patient_id)}(?:(?!</tr>).)*</tr>',
        queue.text,
        re.S,
    )
    assert row is not None, queue.text
    seq = row.group(1)
    empty = web.post("/review/mark", data={"csrf": csrf_of(queue.text), "seq": seq})
    assert empty.status_code == 400  # a review needs a comment
    marked = web.post(
        "/review/mark",
        data={"csrf": csrf_of(queue.text), "seq": seq, "comment": "ringt pasienten, ok"},
        follow_redirects=False,
    )
    assert marked.status_code == 303
    assert f'id="item-{seq}"' not in web.get("/review").text  # reviewed: out of the queue
    assert "ringt pasienten, ok" in web.get("/review?all=1").text


def test_vital_signs_are_recorded_with_news2(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id, _ = _listed(ws_settings, GP_OFFICE)[0]
    form = web.get(f"/patients/{patient_id}/vitals")
    assert form.status_code == 200
    csrf = csrf_of(form.text)
    typo = web.post(
        f"/patients/{patient_id}/vitals", data={"csrf": csrf, "pulse": "720", "spo2": "9x"}
    )
    assert typo.status_code == 400
    assert 'value="9x"' in typo.text  # the form comes back as typed
    saved = web.post(
        f"/patients/{patient_id}/vitals",
        data={
            "csrf": csrf,
            "systolic": "95",
            "diastolic": "60",
            "pulse": "118",
            "respiration": "23",
            "spo2": "94",
            "temperature": "38,4",
            "oxygen": "air",
            "consciousness": "A",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    overview = web.get(saved.headers["location"])
    assert "NEWS2" in overview.text
    assert re.search(r"NEWS2</th><td>8 <span class=\"news2 high\">", overview.text)  # 2+2+2+1+1
    assert "38,4 Cel" in overview.text or "38,4 °C" in overview.text  # a decimal comma
    assert "<td>95/60 mmHg</td>" in overview.text and "<td>118 /min</td>" in overview.text
    stranger, _ = _listed(ws_settings, OTHER_OFFICE)[2]
    assert web.get(f"/patients/{stranger}/vitals").status_code == 404


def test_a_gp_adds_an_icpc2_diagnosis(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id, _ = _listed(ws_settings, GP_OFFICE)[1]
    page = web.get(f"/patients/{patient_id}/diagnoses?q=diabetes")
    assert page.status_code == 200
    assert "ICPC-2" in page.text
    codes = re.findall(r'name="code" value="([^"]+)"', page.text)
    assert "T90" in codes  # Diabetes type 2 in ICPC-2
    assert not any("." in c for c in codes)  # no ICD-10 codes for a GP
    forged = web.post(
        f"/patients/{patient_id}/diagnoses", data={"csrf": csrf_of(page.text), "code": "Q99.X"}
    )
    assert forged.status_code == 400  # not a code of the unit's system
    saved = web.post(
        f"/patients/{patient_id}/diagnoses",
        data={"csrf": csrf_of(page.text), "code": "T90"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    overview = web.get(f"/patients/{patient_id}")
    assert '<span class="code">T90</span>' in overview.text


def test_a_hospital_doctor_codes_with_icd10(web: TestClient, ws_settings: Settings) -> None:
    home = sign_in(web, "990000002")  # emergency doctor at St. Olavs (demo_users.py)
    patient_id, _ = _listed(ws_settings, OTHER_OFFICE)[3]
    granted = web.post(
        "/patients/break-glass",
        data={
            "csrf": csrf_of(home.text),
            "patient_id": patient_id,
            "reason": "emergency",
            "text": "innlagt akutt",
        },
        follow_redirects=False,
    )
    assert granted.status_code == 303
    page = web.get(f"/patients/{patient_id}/diagnoses?q=diabetes")
    assert "ICD-10" in page.text
    codes = re.findall(r'name="code" value="([^"]+)"', page.text)
    assert any(c.startswith("E1") for c in codes)
    assert "T90" not in codes


def _active_medication(ws_settings: Settings, office: str) -> tuple[str, str]:
    """(patient id, MedicationStatement id) of an active medication at a GP office."""
    patients = {pid for pid, _ in _listed(ws_settings, office)}
    store = SqlStore.from_settings(ws_settings)
    try:
        with store.snapshot() as tx:
            rows = tx.execute(
                sa.text(
                    "SELECT res_id, patient_id, CAST(content AS TEXT) FROM resources "
                    "WHERE res_type = 'MedicationStatement' AND deleted = false "
                    "ORDER BY res_id"
                )
            )
            for res_id, patient_id, content in rows:
                if patient_id in patients and '"active"' in content:
                    return patient_id, res_id
    finally:
        store.dispose()
    raise AssertionError("no active medication at the office")


def test_stop_a_medication_with_a_reason(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id, statement_id = _active_medication(ws_settings, GP_OFFICE)
    overview = web.get(f"/patients/{patient_id}")
    stop_url = f"/patients/{patient_id}/medications/{statement_id}/stop"
    assert stop_url in overview.text
    form = web.get(stop_url)
    csrf = csrf_of(form.text)
    version = re.search(r'name="version" value="(\d+)"', form.text)
    assert version is not None
    no_reason = web.post(stop_url, data={"csrf": csrf, "version": version.group(1)})
    assert no_reason.status_code == 400
    stale = web.post(stop_url, data={"csrf": csrf, "version": "999", "reason": "bivirkninger"})
    assert stale.status_code == 409  # a change made meanwhile is reported, not overwritten
    done = web.post(
        stop_url,
        data={"csrf": csrf, "version": version.group(1), "reason": "bivirkninger: hoste"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert stop_url not in web.get(f"/patients/{patient_id}").text  # off the active list
    store = SqlStore.from_settings(ws_settings)
    try:
        with store.snapshot() as tx:
            current = tx.read("MedicationStatement", statement_id)
            assert current is not None
            body = current.content if isinstance(current.content, str) else str(current.content)
    finally:
        store.dispose()
    assert '"stopped"' in body and "bivirkninger: hoste" in body
    assert current.version == int(version.group(1)) + 1  # the old version stays in history
    assert (
        web.get(
            f"/patients/{_listed(ws_settings, OTHER_OFFICE)[4][0]}/medications/{statement_id}/stop"
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "path",
    [
        "/patients?q=%00",
        "/patients/suggest?q=ab%00",
        "/patients/bad$id!",
        "/patients/bad$id!/vitals",
        "/patients/bad$id!/diagnoses?q=x",
        "/review?since=garbage",
    ],
)
def test_bad_input_gets_a_page_not_an_error(web: TestClient, path: str) -> None:
    sign_in(web, GP)
    resp = web.get(path)
    assert 400 <= resp.status_code < 500, resp.status_code
    assert "<html" in resp.text or resp.status_code == 401
