"""The work queues in the workspace (``/queues``), in process, on a database of their own:
the region, 40 demo patients and the demo's work items (``demo/workflows.py``), made by
the workflows as ``fellesjournal demo seed`` makes them.

Listing by status and kind with the clock, take / put back / close (a reason required),
a referral's assessment, the unit leader's escalated view, the dashboard, the start
page's box, paging, CSRF, a change made meanwhile, and that a worker sees and acts on
their own unit's queue only. The work-item invariant (``fellesjournal queues check``)
holds after the demo items and after the actions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access.actor import PROTECTED_ADDRESSES, Actor
from fellesjournal.app import create_app
from fellesjournal.demo.seeder import seed_population, with_members
from fellesjournal.demo.workflows import seed_work_items
from fellesjournal.fhir import jsonio
from fellesjournal.region.options import list_memberships, seed_region
from fellesjournal.region.seed import build_region
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from fellesjournal.web import queue_data
from fellesjournal.workflows import model, queues
from tests.conftest import fresh_database_url, make_settings
from tests.web.conftest import csrf_of, sign_in

WARD = "stolav-lunge-sengepost"
WARD_NURSE = "990000030"  # Eirik Eliassen, nurse (demo_users.py)
CLINIC = "stolav-medisin-poliklinikk"
CLINIC_DOCTOR = "990000040"
HOME_CARE = "kommune-5001-hjemmetjeneste-2"
HOME_NURSE = "990000842"
HOME_LEADER = "990000845"  # unit leader at Hjemmetjenesten Østbyen
GP_OFFICE = "kommune-5059-fastlegekontor"
GP = "990001483"
PRIVACY_OFFICER = "990000118"
HEART_CLINIC = "stolav-hjerte-poliklinikk"  # no demo items: the paging test's own queue
HEART_DOCTOR = "990000023"


@pytest.fixture(scope="module")
def q_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("queues")
    settings = make_settings(
        fresh_database_url(folder, "queues"), folder, base_url="https://testserver"
    )
    store = SqlStore.from_settings(settings)
    upgrade(store.engine)
    repo = _system(store, settings)
    seed_region(repo)
    members = {m.number for m in list_memberships(repo) if m.member}
    today = queue_data.today_in_oslo()
    seed_population(repo, with_members(build_region(), members), patients=40, seed=1, today=today)
    assert seed_work_items(repo, today) is not None
    store.dispose()
    yield settings


def _system(store: SqlStore, settings: Settings) -> GuardedRepository:
    actor = Actor(
        "system", "test", scopes=("system/*.*",), claims={"fj_permissions": [PROTECTED_ADDRESSES]}
    )
    return GuardedRepository(store, settings, RequestContext(actor=actor))


@pytest.fixture(scope="module")
def q_app(q_settings: Settings) -> Any:
    return create_app(q_settings)


@pytest.fixture
def system(q_app: Any, q_settings: Settings) -> GuardedRepository:
    return _system(q_app.state.store, q_settings)


@pytest.fixture
def browser(q_app: Any) -> Iterator[TestClient]:
    with TestClient(q_app, base_url="https://testserver") as client:
        yield client


def tasks(repo: GuardedRepository, **params: str) -> list[dict[str, Any]]:
    found = repo.search("Task", [*params.items(), ("_count", "500")], audit=False)
    return [jsonio.loads(s.content) for s in found.matches if s.content]


def open_items(repo: GuardedRepository, unit: str, kind: str | None = None) -> list[dict[str, Any]]:
    params = {"owner": f"Organization/{unit}", "status": ",".join(sorted(model.OPEN))}
    if kind:
        params["code"] = f"{model.CODE_SYSTEM}|{kind}"
    return tasks(repo, **params)


def rows(page: str) -> list[str]:
    """The ids of the work items listed on a queue page, in order."""
    return re.findall(r'<tr id="item-([^"]+)"', page)


def test_the_demo_items_are_in_their_queues_and_the_invariant_holds(
    system: GuardedRepository,
) -> None:
    assert open_items(system, CLINIC, model.REFERRAL_ASSESSMENT)
    assert open_items(system, GP_OFFICE, model.RESULT_ACKNOWLEDGEMENT)
    assert len(open_items(system, WARD, model.MESSAGE)) >= 2
    [failure] = open_items(system, WARD, model.DELIVERY_FAILURE)
    assert "Vanylven" in failure["description"]
    escalated = [
        t
        for t in open_items(system, HOME_CARE)
        if any(tag.get("code") == "escalated" for tag in t.get("meta", {}).get("tag", ()))
    ]
    assert len(escalated) == 1
    assert queues.check(system) == []
    # Written once: seeding again finds the demo's first referral and does nothing.
    assert seed_work_items(system, queue_data.today_in_oslo()) is None


def test_the_ward_sees_its_own_queue_only(browser: TestClient, system: GuardedRepository) -> None:
    sign_in(browser, WARD_NURSE)
    page = browser.get("/queues")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    listed = rows(page.text)
    mine = {t["id"] for t in open_items(system, WARD)}
    assert set(listed) == mine
    others = {t["id"] for t in open_items(system, HOME_CARE) + open_items(system, CLINIC)}
    assert not others & set(listed)
    # Most urgent first: due dates never go down the page.
    due = {t["id"]: model.due_of(t) or "" for t in open_items(system, WARD)}
    assert [due[i] for i in listed] == sorted(due[i] for i in listed)
    # Each row names the patient with the fødselsnummer and links to the overview.
    for task in open_items(system, WARD):
        patient_id = task["for"]["reference"].removeprefix("Patient/")
        assert f'href="/patients/{patient_id}"' in page.text
    assert re.search(r"\d{11}", page.text)
    # The failed delivery is red for the sender, with its error.
    [failure] = open_items(system, WARD, model.DELIVERY_FAILURE)
    assert re.search(r'<tr id="item-[^"]+" class="[^"]*failure', page.text)
    assert "Sending feilet" in page.text
    assert "no FHIR messaging address" in page.text
    assert re.search(r"\d arbeidsdag(er)? igjen|Frist i dag", page.text)
    assert failure["id"] in listed
    # Another unit's item is not in this queue and cannot be acted on from here, even
    # where the nurse may read it (home care's item about a patient the ward also has).
    ward_patients = {t["for"]["reference"] for t in open_items(system, WARD)}
    other = next(t for t in open_items(system, HOME_CARE) if t["for"]["reference"] in ward_patients)
    assert browser.get(f"/queues/items/{other['id']}").status_code == 404
    taken = browser.post(
        f"/queues/items/{other['id']}/take",
        data={"csrf": csrf_of(page.text), "version": "1", "back": "/queues"},
    )
    assert taken.status_code == 404
    assert model.assignee_of(tasks(system, _id=other["id"])[0]) is None


def test_filters_by_kind_and_status(browser: TestClient, system: GuardedRepository) -> None:
    sign_in(browser, WARD_NURSE)
    failures = browser.get("/queues?status=open&kind=delivery-failure")
    assert rows(failures.text) == [t["id"] for t in open_items(system, WARD, "delivery-failure")]
    taken = browser.get("/queues?status=mine")
    assigned = [
        t["id"]
        for t in open_items(system, WARD)
        if model.assignee_of(t) == f"PractitionerRole/{WARD}-{WARD_NURSE}"
    ]
    assert assigned and sorted(rows(taken.text)) == sorted(assigned)
    closed = browser.get("/queues?status=closed")
    assert "Samtale avtalt med lege torsdag." in closed.text  # the demo's closed message
    assert browser.get("/queues?status=nonsense&kind=nonsense&page=x").status_code == 200


def test_take_put_back_and_close_with_a_reason(
    browser: TestClient, system: GuardedRepository
) -> None:
    sign_in(browser, WARD_NURSE)
    item = next(t for t in open_items(system, WARD, model.MESSAGE) if model.assignee_of(t) is None)
    page = browser.get(f"/queues/items/{item['id']}")
    assert page.status_code == 200
    csrf = csrf_of(page.text)
    version = tasks(system, _id=item["id"])[0]["meta"]["versionId"]

    took = browser.post(
        f"/queues/items/{item['id']}/take",
        data={"csrf": csrf, "version": version, "back": "/queues?status=mine"},
        follow_redirects=False,
    )
    assert took.status_code == 303, took.text
    assert took.headers["location"] == "/queues?status=mine"
    after = tasks(system, _id=item["id"])[0]
    assert model.assignee_of(after) == f"PractitionerRole/{WARD}-{WARD_NURSE}"
    assert item["id"] in rows(browser.get("/queues?status=mine").text)

    back = browser.post(
        f"/queues/items/{item['id']}/release",
        data={"csrf": csrf, "version": after["meta"]["versionId"]},
        follow_redirects=False,
    )
    assert back.status_code == 303
    after = tasks(system, _id=item["id"])[0]
    assert model.assignee_of(after) is None

    # No reason: the item page again with the error, nothing saved.
    empty = browser.post(
        f"/queues/items/{item['id']}/close",
        data={"csrf": csrf, "version": after["meta"]["versionId"], "reason": "   "},
    )
    assert empty.status_code == 422
    assert 'role="alert"' in empty.text and 'aria-invalid="true"' in empty.text
    assert model.is_open(tasks(system, _id=item["id"])[0])

    closed = browser.post(
        f"/queues/items/{item['id']}/close",
        data={
            "csrf": csrf,
            "version": after["meta"]["versionId"],
            "reason": "Lest og lagt inn i kurven",
        },
        follow_redirects=False,
    )
    assert (closed.status_code, closed.headers["location"]) == (303, "/queues")
    done = tasks(system, _id=item["id"])[0]
    assert done["status"] == "completed"
    assert model.reason_text(done) == "Lest og lagt inn i kurven"
    by = model.extension_value(done, model.CLOSED_BY_URL)
    assert by["reference"] == f"PractitionerRole/{WARD}-{WARD_NURSE}"
    assert model.extension_value(done, model.CLOSED_AT_URL)
    assert item["id"] not in rows(browser.get("/queues").text)
    assert item["id"] in rows(browser.get("/queues?status=closed").text)
    # A closed item takes no more actions; the invariant still holds.
    again = browser.post(
        f"/queues/items/{item['id']}/take",
        data={"csrf": csrf, "version": done["meta"]["versionId"]},
    )
    assert again.status_code == 409
    assert queues.check(system) == []


def test_forms_need_csrf_and_the_version_they_showed(
    browser: TestClient, system: GuardedRepository
) -> None:
    page = sign_in(browser, WARD_NURSE)
    item = next(t for t in open_items(system, WARD, model.MESSAGE) if model.assignee_of(t) is None)
    version = item["meta"]["versionId"]
    forged = browser.post(
        f"/queues/items/{item['id']}/take", data={"csrf": "forged", "version": version}
    )
    assert forged.status_code == 403
    assert model.assignee_of(tasks(system, _id=item["id"])[0]) is None
    # Someone else changed it meanwhile: the "changed meanwhile" page, nothing saved.
    changed = dict(item, description=item.get("description", "") + " (sett)")
    del changed["meta"]
    system.update("Task", item["id"], changed)
    stale = browser.post(
        f"/queues/items/{item['id']}/take", data={"csrf": csrf_of(page.text), "version": version}
    )
    assert stale.status_code == 409
    assert model.assignee_of(tasks(system, _id=item["id"])[0]) is None
    bad = browser.post(
        f"/queues/items/{item['id']}/take", data={"csrf": csrf_of(page.text), "version": "x"}
    )
    assert bad.status_code == 400


def test_the_unit_leader_sees_what_was_escalated(
    browser: TestClient, system: GuardedRepository
) -> None:
    sign_in(browser, HOME_LEADER)
    page = browser.get("/queues")  # the unit leader starts on escalated
    escalated = [
        t["id"]
        for t in open_items(system, HOME_CARE)
        if any(tag.get("code") == "escalated" for tag in t.get("meta", {}).get("tag", ()))
    ]
    assert rows(page.text) == escalated
    assert 'aria-current="page">Eskalert' in page.text
    assert re.search(r"\d+ dag(er)? over fristen", page.text)
    assert 'class="over"' in page.text
    home = browser.get("/")  # the start page's box says so too
    assert 'href="/queues?status=escalated">1 eskalert</a>' in home.text
    assert 'href="/queues?status=overdue">' in home.text


def test_a_doctor_assesses_a_referral_from_the_queue(
    browser: TestClient, system: GuardedRepository
) -> None:
    sign_in(browser, CLINIC_DOCTOR)
    item = open_items(system, CLINIC, model.REFERRAL_ASSESSMENT)[0]
    page = browser.get(f"/queues/items/{item['id']}")
    assert "Vurder henvisningen" in page.text
    csrf = csrf_of(page.text)
    version = item["meta"]["versionId"]
    missing = browser.post(
        f"/queues/items/{item['id']}/assess",
        data={"csrf": csrf, "version": version, "outcome": "no-right", "reason": ""},
    )
    assert missing.status_code == 422
    assert 'id="assess-error"' in missing.text
    assert model.is_open(tasks(system, _id=item["id"])[0])
    done = browser.post(
        f"/queues/items/{item['id']}/assess",
        data={
            "csrf": csrf,
            "version": version,
            "outcome": "no-right",
            "reason": "Kan utredes hos fastlegen.",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    after = tasks(system, _id=item["id"])[0]
    assert not model.is_open(after)
    assert queues.check(system) == []


def test_the_dashboard_shows_every_queue_and_the_unwatched_in_red(
    browser: TestClient, system: GuardedRepository
) -> None:
    sign_in(browser, WARD_NURSE)
    # Work owned by a municipality outside the shared record: nobody here watches it.
    patient = open_items(system, WARD)[0]["for"]["reference"]
    stray = model.work_item(
        model.MESSAGE,
        owner="Organization/kommune-1511-hjemmetjeneste",
        patient=patient,
        focus=None,
        authored=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    stray_id = system.create("Task", stray).stored.res_id
    try:
        page = browser.get("/queues/dashboard")
        assert page.status_code == 200
        for name in ("Lungemedisinsk sengepost", "Medisinsk poliklinikk", "Orkland legekontor"):
            assert name in page.text
        assert "Hjemmetjenesten i Vanylven" in page.text
        assert 'class="unwatched"' in page.text and "Ingen overvåker den" in page.text
        assert 'class="error" role="status"' in page.text  # the count of unwatched queues
    finally:
        closed = dict(tasks(system, _id=stray_id)[0], status="cancelled")
        closed["statusReason"] = {"text": "Testdata"}
        system.update("Task", stray_id, closed)
    assert queues.check(system) == []


def test_the_start_page_counts_the_units_queue(
    browser: TestClient, system: GuardedRepository
) -> None:
    home = sign_in(browser, GP)
    results = open_items(system, GP_OFFICE, model.RESULT_ACKNOWLEDGEMENT)
    assert 'href="/queues?status=open&amp;kind=result-acknowledgement"' in home.text
    assert f"Prøvesvar til kvittering</a>: {len(results)}" in home.text
    assert 'href="/queues">Arbeidskøer</a>' in home.text  # the header's link
    with TestClient(browser.app, base_url="https://testserver") as other:
        officer = sign_in(other, PRIVACY_OFFICER)
        assert "Arbeidskøer" not in officer.text  # reads no work items
        assert other.get("/queues").status_code == 403


def test_a_long_queue_is_paged_most_urgent_first(
    browser: TestClient, system: GuardedRepository
) -> None:
    patients = [t["for"]["reference"] for t in open_items(system, WARD)]
    today = queue_data.today_in_oslo()
    for i in range(queue_data.PAGE_SIZE + 5):
        task = model.work_item(
            model.APPOINTMENT_REQUEST,
            owner=f"Organization/{HEART_CLINIC}",
            patient=patients[i % len(patients)],
            focus=None,
            authored=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            due=(today + dt.timedelta(days=(i * 7) % 40 - 10)).isoformat(),
        )
        system.create("Task", task)
    sign_in(browser, HEART_DOCTOR)
    first = browser.get("/queues")
    assert len(rows(first.text)) == queue_data.PAGE_SIZE
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = browser.get("/queues?status=open&page=2")
    assert len(rows(second.text)) == 5 and 'rel="prev"' in second.text
    due = {t["id"]: model.due_of(t) or "" for t in open_items(system, HEART_CLINIC)}
    listed = [due[i] for i in rows(first.text) + rows(second.text)]
    assert listed == sorted(listed)
    overdue = browser.get("/queues?status=overdue")
    assert all(due[i] < today.isoformat() for i in rows(overdue.text))
    assert rows(overdue.text)


@pytest.mark.parametrize(
    ("today", "due", "expected"),
    [
        (
            dt.date(2026, 12, 21),
            "2026-12-28",
            queue_data.Clock("left", 4),
        ),  # not 25 Dec, 26-27 (weekend)
        (dt.date(2026, 11, 26), "2026-11-26", queue_data.Clock("today")),
        (dt.date(2026, 11, 26), "2026-11-23", queue_data.Clock("over", 3)),
        (dt.date(2026, 11, 27), "2026-11-29", queue_data.Clock("today")),  # a Sunday
        (dt.date(2026, 11, 26), None, queue_data.Clock("none")),
    ],
)
def test_the_clock_counts_norwegian_working_days(
    today: dt.date, due: str | None, expected: queue_data.Clock
) -> None:
    task = model.work_item(
        model.MESSAGE, owner="Organization/x", patient=None, focus=None, authored="2026-11-01"
    )
    if due:
        task["restriction"] = {"period": {"end": due}}
    assert queue_data.clock(task, today) == expected


def test_nothing_here_touches_sql() -> None:
    for name in ("queues.py", "queue_data.py"):
        text = (Path(queue_data.__file__).parent / name).read_text(encoding="utf-8")
        assert "sqlalchemy" not in text and ".execute(" not in text


def test_a_gp_releases_a_result_to_the_patient_with_a_comment(
    browser: TestClient, system: GuardedRepository
) -> None:
    """The result item offers the release to the patient (HelsaMi's category 2): with a
    comment, the report carries the released tag and the comment, no new work follows,
    and the item stays open until acknowledged."""
    from fellesjournal.access import release
    from fellesjournal.workflows import result_release

    sign_in(browser, GP)
    item = open_items(system, GP_OFFICE, model.RESULT_ACKNOWLEDGEMENT)[0]
    report_id = item["focus"]["reference"].removeprefix("DiagnosticReport/")
    page = browser.get(f"/queues/items/{item['id']}")
    assert page.status_code == 200
    assert 'action="/queues/items/' + item["id"] + '/share"' in page.text
    version = item["meta"]["versionId"]
    csrf = csrf_of(page.text)
    open_before = len(open_items(system, GP_OFFICE, model.RESULT_ACKNOWLEDGEMENT))
    refused = browser.post(
        f"/queues/items/{item['id']}/share", data={"csrf": "wrong", "version": version}
    )
    assert refused.status_code == 403
    shared = browser.post(
        f"/queues/items/{item['id']}/share",
        data={"csrf": csrf, "version": version, "comment": "  Normale verdier,  ingen tiltak. "},
        follow_redirects=False,
    )
    assert shared.status_code == 303, shared.text
    report = jsonio.loads(system.read("DiagnosticReport", report_id).content or "{}")
    assert result_release.is_released(report)
    assert result_release.comment_of(report) == "Normale verdier, ingen tiltak."
    assert any(t.get("code") == release.RELEASED for t in report["meta"]["tag"])
    assert len(open_items(system, GP_OFFICE, model.RESULT_ACKNOWLEDGEMENT)) == open_before
    after = browser.get(shared.headers["location"])
    assert "Frigitt til pasienten." in after.text
    assert model.is_open(tasks(system, _id=item["id"])[0])
    assert not [
        t
        for t in tasks(system, focus=f"DiagnosticReport/{report_id}")
        if t["id"] != item["id"] and model.is_open(t)
    ]
    assert queues.check(system) == []
