"""The outbox against a real receiving service on loopback (``receiver.py``): a message to
a unit outside the shared record is "delivered" only once an application receipt came
back, and no message disappears, whatever the receiver does (acknowledges, rejects,
answers later, times out, drops the connection, fails).

Each test sends to a unit of its own outside the record (a municipality holding an
option), with an Endpoint of its own pointing at its own receiver, so rows of one test
never reach another's receiver. Delivery runs with a client timeout of a fraction of a
second and a retry policy the tests step through by moving ``now`` forward.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from fellesjournal.app import create_app
from fellesjournal.cli.workflows import outbox_app
from fellesjournal.fhir import jsonio
from fellesjournal.settings import Settings
from fellesjournal.workflows import delivery, messages, model, outbox, reconcile
from fellesjournal.workflows.outbox import OutboxItem
from tests.workflows import receiver as rx
from tests.workflows.conftest import REGION, World, staff
from tests.workflows.receiver import Receiver

WARD = "stolav-hjerte-sengepost"
HOME_CARE = "kommune-5001-hjemmetjeneste-1"
CONNECTION_TYPE = "http://terminology.hl7.org/CodeSystem/endpoint-connection-type"
#: The client's timeout where a test waits for one (the receiver hangs for a second);
#: elsewhere a generous one, so that a loaded machine does not turn answers into timeouts.
CLIENT_TIMEOUT_S = 0.25
PATIENT_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 4
RETRY_BASE_S = 60.0

#: Units outside the shared record, one per test (1511 Vanylven's home care is left to
#: the other workflow tests).
_OUTSIDE = (
    u.id
    for m in REGION.municipalities
    if not m.member and m.number != "1511"
    for u in m.units
    if u.kind in ("hjemmetjeneste", "fastlegekontor", "sykehjem")
)


def fast(settings: Settings, **extra: Any) -> Settings:
    """The world's settings with the retry policy of these tests."""
    values: dict[str, Any] = {
        "outbox_timeout_s": PATIENT_TIMEOUT_S,
        "outbox_retry_base_s": RETRY_BASE_S,
        "outbox_max_attempts": MAX_ATTEMPTS,
        "outbox_receipt_timeout_s": 3600.0,
        **extra,
    }
    return settings.model_copy(update=values)


@dataclass
class Outside:
    """A unit outside the record with its receiver and its Endpoint."""

    unit: str
    receiver: Receiver
    endpoint_id: str | None


@dataclass
class Clock:
    """The worker's ``now``, moved forward by the test."""

    now: datetime

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def endpoint_for(unit: str, address: str) -> dict[str, Any]:
    return {
        "resourceType": "Endpoint",
        "status": "active",
        "name": f"FHIR-meldinger til {unit}",
        "connectionType": {"system": CONNECTION_TYPE, "code": "hl7-fhir-msg"},
        "managingOrganization": {"reference": f"Organization/{unit}"},
        "payloadType": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/endpoint-payload-type",
                        "code": "any",
                    }
                ]
            }
        ],
        "payloadMimeType": ["application/fhir+json"],
        "address": address,
    }


def open_outside(world: World, *, endpoint: bool = True, hang_s: float = 1.0) -> Outside:
    unit = next(_OUTSIDE)
    receiver = Receiver(hang_s=hang_s).start()
    endpoint_id = None
    if endpoint:
        r = world.system.post("/fhir/Endpoint", json=endpoint_for(unit, receiver.url))
        assert r.status_code == 201, r.text
        endpoint_id = r.json()["id"]
    return Outside(unit, receiver, endpoint_id)


def close_outside(world: World, out: Outside) -> None:
    out.receiver.stop()
    if out.endpoint_id is not None:
        current = world.read(f"Endpoint/{out.endpoint_id}")
        r = world.system.put(f"/fhir/Endpoint/{out.endpoint_id}", json=dict(current, status="off"))
        assert r.status_code == 200, r.text


@pytest.fixture()
def outside(world: World) -> Iterator[Outside]:
    """A unit outside the record, its receiver acknowledging by default."""
    out = open_outside(world)
    yield out
    close_outside(world, out)


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=PATIENT_TIMEOUT_S) as client:
        yield client


def deliver(
    world: World, client: httpx.Client, now: datetime, settings: Settings | None = None
) -> delivery.RoundStats:
    repo = delivery.worker_repository(world.store, settings or fast(world.settings))
    return delivery.deliver_due(repo, client, now=now)


def send(
    world: World,
    recipients: list[str],
    *,
    kind: str = "helseopplysninger",
    client: TestClient | None = None,
    patient: str | None = None,
) -> tuple[str, str]:
    """A Communication from the ward to ``recipients`` (unit ids); (its id, the patient)."""
    patient = patient or world.patient()
    body = messages.communication(
        kind,
        sender=f"Organization/{WARD}",
        recipients=[f"Organization/{r}" for r in recipients],
        patient=f"Patient/{patient}",
        sent=datetime.now(UTC).isoformat(timespec="seconds"),
        text="Pasienten trenger hjemmesykepleie morgen og kveld.",
    )
    r = (client or world.system).post("/fhir/Communication", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), patient


def rows(world: World, comm: str) -> list[OutboxItem]:
    with world.repo.reading() as tx:
        return outbox.items(tx, focus_prefix=f"Communication/{comm}/")


def row(world: World, comm: str) -> OutboxItem:
    [only] = rows(world, comm)
    return only


def failure_items(world: World, comm: str) -> list[dict[str, Any]]:
    return [
        t
        for t in world.tasks(focus=f"Communication/{comm}")
        if model.kind_of(t) == model.DELIVERY_FAILURE
    ]


def close_failures(world: World, comm: str) -> None:
    """The ward's nurse closes the failure items (the message went by other means)."""
    nurse = world.as_staff(staff(WARD, "nurse"))
    for task in failure_items(world, comm):
        if not model.is_open(task):
            continue
        closed = dict(task, status="completed", statusReason={"text": "Sendt per post"})
        r = nurse.put(f"/fhir/Task/{task['id']}", json=closed)
        assert r.status_code == 200, r.text


def post_receipt(world: World) -> Any:
    def post(bundle: dict[str, Any]) -> int:
        return world.system.post("/fhir/$process-message", json=bundle).status_code

    return post


# -- the message --------------------------------------------------------------------------


def test_the_message_is_a_fhir_message_bundle_with_the_communication_and_the_patient(
    world: World, outside: Outside, http: httpx.Client
) -> None:
    comm, patient = send(world, [outside.unit], kind="utskrivningsrapport")
    item = row(world, comm)
    deliver(world, http, datetime.now(UTC))

    [arrival] = outside.receiver.received(item.message_id)
    bundle = arrival.bundle
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "message"
    assert bundle["id"] == item.message_id
    header = bundle["entry"][0]["resource"]
    assert header["resourceType"] == "MessageHeader"
    assert header["id"] == item.message_id
    assert header["eventCoding"] == {
        "system": messages.KIND_SYSTEM,
        "code": "utskrivningsrapport",
        "display": messages.KINDS["utskrivningsrapport"],
    }
    assert header["destination"] == [
        {
            "endpoint": outside.receiver.url,
            "receiver": {"reference": f"Organization/{outside.unit}"},
        }
    ]
    assert header["sender"] == {"reference": f"Organization/{WARD}"}
    assert header["focus"] == [{"reference": f"Communication/{comm}"}]
    contents = {
        f"{e['resource']['resourceType']}/{e['resource'].get('id')}": e["resource"]
        for e in bundle["entry"][1:]
    }
    assert set(contents) == {f"Communication/{comm}", f"Patient/{patient}"}
    sent = contents[f"Communication/{comm}"]
    assert sent["payload"][0]["contentString"].startswith("Pasienten trenger")
    assert sent["recipient"] == [{"reference": f"Organization/{outside.unit}"}]


# -- receipts -----------------------------------------------------------------------------


def test_a_message_is_delivered_only_with_its_receipt_which_is_kept(
    world: World, outside: Outside, http: httpx.Client
) -> None:
    patient = world.patient()
    encounter = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
        },
        "subject": {"reference": f"Patient/{patient}"},
        "serviceProvider": {"reference": f"Organization/{WARD}"},
        "period": {"start": datetime.now(UTC).isoformat(timespec="seconds")},
    }
    assert world.system.post("/fhir/Encounter", json=encounter).status_code == 201
    doctor = world.as_staff(staff(WARD, "doctor"))
    comm, _ = send(world, [outside.unit], client=doctor, patient=patient)
    item = row(world, comm)
    assert item.state == outbox.QUEUED and item.receipt is None
    assert outside.receiver.received(item.message_id) == []

    deliver(world, http, datetime.now(UTC))
    after = row(world, comm)
    assert after.state == outbox.DELIVERED
    assert after.message_id in outside.receiver.acknowledged
    assert after.delivered is not None and after.sent is not None
    receipt = jsonio.loads(after.receipt or "{}")
    assert receipt["route"] == "fhir-message" and receipt["code"] == "ok"
    assert len(outside.receiver.received(item.message_id)) == 1
    assert failure_items(world, comm) == []


def test_without_a_receipt_a_message_stays_sent_until_the_receipt_comes(
    world: World, outside: Outside, http: httpx.Client
) -> None:
    outside.receiver.default = rx.LATER
    comm, _ = send(world, [outside.unit])
    clock = Clock(datetime.now(UTC))
    deliver(world, http, clock.now)
    item = row(world, comm)
    assert item.state == outbox.SENT
    assert item.delivered is None and item.receipt is None
    assert item.message_id not in outside.receiver.acknowledged

    deliver(world, http, clock.advance(600))  # before the receipt deadline: left alone
    assert row(world, comm).state == outbox.SENT
    assert len(outside.receiver.received(item.message_id)) == 1

    statuses = outside.receiver.send_receipts(post_receipt(world))
    assert statuses == {item.message_id: 200}
    after = row(world, comm)
    assert after.state == outbox.DELIVERED
    assert jsonio.loads(after.receipt or "{}")["code"] == "ok"

    # The same receipt again changes nothing.
    again = world.system.post(
        "/fhir/$process-message", json=rx.receipt(item.message_id, "fatal-error", "for sent")
    )
    assert again.status_code == 200, again.text
    assert again.json()["parameter"] == [{"name": "state", "valueCode": "delivered"}]
    assert row(world, comm) == after
    assert failure_items(world, comm) == []


def test_a_receipt_that_overtakes_the_answer_is_kept(
    world: World, outside: Outside, http: httpx.Client
) -> None:
    """The receiver sends its receipt to $process-message before it answers the post:
    the worker, recording the receipt-less answer afterwards, must not undo it."""
    repo = delivery.worker_repository(world.store, world.settings)

    def receipt_first(arrival: rx.Arrival) -> str:
        outside.receiver.acknowledged.add(arrival.message_id)
        delivery.apply_receipt(repo, rx.receipt(arrival.message_id, "ok"))
        return rx.LATER

    outside.receiver.script(receipt_first)
    comm, _ = send(world, [outside.unit])
    deliver(world, http, datetime.now(UTC))
    item = row(world, comm)
    assert item.state == outbox.DELIVERED, item
    outside.receiver.pending_receipts.clear()


def test_an_error_receipt_fails_the_message_with_a_work_item_at_the_sender(
    world: World, outside: Outside, http: httpx.Client
) -> None:
    outside.receiver.default = rx.REJECT
    comm, patient = send(world, [outside.unit])
    stats = deliver(world, http, datetime.now(UTC))
    assert stats.failed >= 1
    item = row(world, comm)
    assert item.state == outbox.FAILED and item.delivered is None
    assert rx.REJECT_TEXT in (item.last_error or "")
    assert item.message_id not in outside.receiver.acknowledged

    [task] = failure_items(world, comm)
    assert model.owner_of(task) == f"Organization/{WARD}"
    assert task["for"] == {"reference": f"Patient/{patient}"}
    assert task["priority"] == "urgent" and model.is_open(task)
    assert rx.REJECT_TEXT in task["description"]
    # The sender's unit sees it in its queue, and the dashboard counts it.
    nurse = world.as_staff(staff(WARD, "nurse"))
    r = nurse.get(
        "/fhir/Task", params={"owner": f"Organization/{WARD}", "status": "requested", "_count": 500}
    )
    assert r.status_code == 200, r.text
    assert task["id"] in {e["resource"]["id"] for e in r.json().get("entry", ())}
    board = world.system.get("/fhir/Task/$queues").json()
    failures = {
        (p["part"][0]["valueReference"]["reference"], p["part"][1]["valueCode"]): next(
            q["valueInteger"] for q in p["part"] if q["name"] == "failures"
        )
        for p in board["parameter"]
    }
    assert failures[(f"Organization/{WARD}", model.DELIVERY_FAILURE)] >= 1

    # A later ok receipt for it does not turn a failure into a delivery.
    r = world.system.post("/fhir/$process-message", json=rx.receipt(item.message_id, "ok"))
    assert r.json()["parameter"][0]["valueCode"] == "failed"
    close_failures(world, comm)


def test_a_transient_error_is_retried_with_backoff_then_delivered(
    world: World, outside: Outside, http: httpx.Client
) -> None:
    comm, _ = send(world, [outside.unit])
    mid = row(world, comm).message_id
    outside.receiver.behave(mid, rx.TRANSIENT, rx.HTTP_500, rx.ACK)
    clock = Clock(datetime.now(UTC))

    deliver(world, http, clock.now)
    first = row(world, comm)
    assert (first.state, first.attempts) == (outbox.QUEUED, 1)
    assert rx.TRANSIENT_TEXT in (first.last_error or "")
    assert first.next_attempt == pytest.approx(delivery._us(clock.now) + RETRY_BASE_S * 1e6)

    deliver(world, http, clock.advance(RETRY_BASE_S / 2))  # not yet due
    assert row(world, comm).attempts == 1
    assert len(outside.receiver.received(mid)) == 1

    deliver(world, http, clock.advance(RETRY_BASE_S / 2))
    second = row(world, comm)
    assert (second.state, second.attempts, second.last_error) == (outbox.QUEUED, 2, "HTTP 500")
    assert second.next_attempt == pytest.approx(delivery._us(clock.now) + 2 * RETRY_BASE_S * 1e6)

    deliver(world, http, clock.advance(2 * RETRY_BASE_S))
    third = row(world, comm)
    assert (third.state, third.attempts, third.last_error) == (outbox.DELIVERED, 3, None)
    assert [a.behaviour for a in outside.receiver.received(mid)] == [
        rx.TRANSIENT,
        rx.HTTP_500,
        rx.ACK,
    ]


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [(rx.TIMEOUT, "ReadTimeout"), (rx.DROP, "RemoteProtocolError"), (rx.HTTP_500, "HTTP 500")],
)
def test_timeouts_drops_and_server_errors_are_retried_then_failed(
    world: World, outside: Outside, http: httpx.Client, behaviour: str, error: str
) -> None:
    outside.receiver.default = behaviour
    if behaviour == rx.TIMEOUT:
        http = httpx.Client(timeout=CLIENT_TIMEOUT_S)
    comm, _ = send(world, [outside.unit])
    mid = row(world, comm).message_id
    clock = Clock(datetime.now(UTC))
    delay = RETRY_BASE_S
    for attempt in range(1, MAX_ATTEMPTS):
        deliver(world, http, clock.now)
        item = row(world, comm)
        assert (item.state, item.attempts) == (outbox.QUEUED, attempt)
        assert error in (item.last_error or "")
        assert failure_items(world, comm) == []
        clock.advance(delay)
        delay *= 2
    deliver(world, http, clock.now)
    item = row(world, comm)
    assert (item.state, item.attempts) == (outbox.FAILED, MAX_ATTEMPTS)
    assert error in (item.last_error or "") and f"after {MAX_ATTEMPTS} attempts" in (
        item.last_error or ""
    )
    assert len(outside.receiver.received(mid)) == MAX_ATTEMPTS
    assert mid not in outside.receiver.acknowledged
    [task] = failure_items(world, comm)
    assert error in task["description"]
    deliver(world, http, clock.advance(10 * 86_400))  # a failed message is never sent again
    assert len(outside.receiver.received(mid)) == MAX_ATTEMPTS
    close_failures(world, comm)
    if behaviour == rx.TIMEOUT:
        http.close()


def test_a_refusal_fails_at_once(world: World, outside: Outside, http: httpx.Client) -> None:
    outside.receiver.default = rx.HTTP_400
    comm, _ = send(world, [outside.unit])
    deliver(world, http, datetime.now(UTC))
    item = row(world, comm)
    assert (item.state, item.attempts, item.last_error) == (
        outbox.FAILED,
        1,
        "refused: HTTP 400",
    )
    assert len(failure_items(world, comm)) == 1
    close_failures(world, comm)


def test_a_receiver_that_never_sends_a_receipt_fails_the_message_in_the_end(
    world: World, outside: Outside, http: httpx.Client
) -> None:
    outside.receiver.default = rx.LATER
    comm, _ = send(world, [outside.unit])
    mid = row(world, comm).message_id
    settings = fast(world.settings, outbox_receipt_timeout_s=600.0)
    clock = Clock(datetime.now(UTC))
    for _ in range(MAX_ATTEMPTS):
        deliver(world, http, clock.now, settings)
        assert row(world, comm).state == outbox.SENT
        clock.advance(601)
    deliver(world, http, clock.now, settings)
    item = row(world, comm)
    assert item.state == outbox.FAILED
    assert "no application receipt" in (item.last_error or "")
    assert len(outside.receiver.received(mid)) == MAX_ATTEMPTS
    assert len(failure_items(world, comm)) == 1
    outside.receiver.pending_receipts.clear()
    close_failures(world, comm)


def test_receipts_for_unknown_messages_and_malformed_receipts_are_refused(world: World) -> None:
    r = world.system.post("/fhir/$process-message", json=rx.receipt(str(uuid.uuid4()), "ok"))
    assert r.status_code == 404, r.text
    assert r.json()["resourceType"] == "OperationOutcome"

    not_a_receipt = rx.receipt(str(uuid.uuid4()), "ok")
    del not_a_receipt["entry"][0]["resource"]["response"]
    for body in (
        not_a_receipt,
        rx.receipt(str(uuid.uuid4()), "maybe"),
        {"resourceType": "Patient"},
        [1, 2],
    ):
        r = world.system.post("/fhir/$process-message", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["resourceType"] == "OperationOutcome"

    r = world.system.post(
        "/fhir/$process-message",
        content=b"{not json",
        headers={"Content-Type": "application/fhir+json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["resourceType"] == "OperationOutcome"

    nurse = world.as_staff(staff(WARD, "nurse"))
    r = nurse.post("/fhir/$process-message", json=rx.receipt(str(uuid.uuid4()), "ok"))
    assert r.status_code == 403, r.text
    assert r.json()["resourceType"] == "OperationOutcome"


def test_a_unit_outside_without_an_endpoint_fails_at_once(world: World, http: httpx.Client) -> None:
    out = open_outside(world, endpoint=False)
    try:
        comm, _ = send(world, [out.unit, HOME_CARE])
        deliver(world, http, datetime.now(UTC))
        by_recipient = {r.recipient: r for r in rows(world, comm)}
        missing = by_recipient[f"Organization/{out.unit}"]
        assert (missing.state, missing.attempts) == (outbox.FAILED, 1)
        assert "no FHIR messaging address (Endpoint)" in (missing.last_error or "")
        assert by_recipient[f"Organization/{HOME_CARE}"].state == outbox.DELIVERED
        [task] = failure_items(world, comm)
        assert "Endpoint" in task["description"]
        assert out.receiver.arrivals == []
        close_failures(world, comm)
    finally:
        close_outside(world, out)


# -- nothing shown delivered without a receipt, nothing lost -------------------------------

#: Receiver behaviours of the random test and how often each is drawn.
WEIGHTS = {
    rx.ACK: 6,
    rx.LATER: 3,
    rx.TRANSIENT: 3,
    rx.REJECT: 1,
    rx.HTTP_500: 2,
    rx.HTTP_400: 1,
    rx.DROP: 2,
    rx.TIMEOUT: 1,
}


@pytest.mark.parametrize("seed", [1, 2])
def test_random_receivers_never_see_a_message_shown_delivered_without_a_receipt(
    isolated: World, seed: int
) -> None:
    world = isolated
    rng = random.Random(seed)
    settings = fast(world.settings, outbox_timeout_s=0.15, outbox_receipt_timeout_s=900.0)
    outs = [open_outside(world, hang_s=0.5) for _ in range(2)]
    plans: dict[str, list[str]] = {}

    def draw(arrival: rx.Arrival) -> str:
        plan = plans.setdefault(
            arrival.message_id,
            rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=rng.randint(1, 5)),
        )
        return plan[min(arrival.attempt, len(plan)) - 1]

    for out in outs:
        out.receiver.script(draw)
    try:
        comms = []
        for _ in range(25):
            recipients = rng.sample([o.unit for o in outs] + [HOME_CARE], rng.randint(1, 3))
            comms.append(send(world, recipients)[0])
        with world.repo.reading() as tx:
            everything = outbox.items(tx, limit=10_000)
        total = len(everything)
        assert total >= 25
        clock = Clock(datetime.now(UTC))
        with httpx.Client(timeout=settings.outbox_timeout_s) as client:
            for step in range(24):
                if rng.random() < 0.3:
                    for out in outs:
                        out.receiver.send_receipts(post_receipt(world))
                deliver(world, client, clock.now, settings)
                _check_nothing_lost_or_faked(world, outs, total, settings)
                clock.advance(rng.choice([0, 30, RETRY_BASE_S, 300, 1000]))
                if step > 16 and _all_settled(world):
                    break
            # Wind down: receipts in, time far enough on for every retry (a receiver's
            # messages behind one that timed out or dropped wait a round each time).
            for _ in range(60):
                for out in outs:
                    out.receiver.send_receipts(post_receipt(world))
                deliver(world, client, clock.advance(4000), settings)
                _check_nothing_lost_or_faked(world, outs, total, settings)
                if _all_settled(world):
                    break
        assert _all_settled(world)
        assert world.violations() == []
        # The run met the receivers' whole repertoire, and both ends of it.
        met = {a.behaviour for o in outs for a in o.receiver.arrivals}
        assert len(met) >= 6, met
        with world.repo.reading() as tx:
            final = {r.state for r in outbox.items(tx, limit=10_000)}
        assert final == {outbox.DELIVERED, outbox.FAILED}
    finally:
        for out in outs:
            close_outside(world, out)


def _all_settled(world: World) -> bool:
    with world.repo.reading() as tx:
        return not outbox.items(tx, states=[outbox.QUEUED, outbox.SENT])


def _check_nothing_lost_or_faked(
    world: World, outs: list[Outside], total: int, settings: Settings
) -> None:
    by_unit = {f"Organization/{o.unit}": o.receiver for o in outs}
    with world.repo.reading() as tx:
        now = outbox.items(tx, limit=10_000)
    assert len(now) == total, "a message disappeared"
    failed_comms = {r.focus.split("/_history/")[0] for r in now if r.state == outbox.FAILED}
    failure_foci = {
        t["focus"]["reference"]
        for t in world.tasks(code=f"{model.CODE_SYSTEM}|{model.DELIVERY_FAILURE}")
    }
    assert failed_comms <= failure_foci, "a failed message without its work item"
    for item in now:
        receiver = by_unit.get(item.recipient)
        if item.state == outbox.DELIVERED and receiver is not None:
            assert receiver.received(item.message_id), f"delivered, never received: {item}"
            assert item.message_id in receiver.acknowledged, f"delivered, never receipted: {item}"
            assert jsonio.loads(item.receipt or "{}").get("code") == "ok"
        if item.state in (outbox.QUEUED, outbox.SENT):
            assert item.attempts < settings.outbox_max_attempts or item.state == outbox.SENT
        assert item.state in outbox.STATES


# -- the server's own worker ----------------------------------------------------------------


def test_the_servers_background_worker_delivers_without_being_asked(
    world: World, outside: Outside
) -> None:
    settings = fast(world.settings, worker_interval_s=0.05, outbox_timeout_s=2.0)
    app = create_app(settings, store=world.store)
    with TestClient(app, base_url="http://testserver"):
        comm, _ = send(world, [outside.unit, HOME_CARE])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            states = {r.recipient: r.state for r in rows(world, comm)}
            if set(states.values()) == {outbox.DELIVERED}:
                break
            time.sleep(0.05)
    assert states == {
        f"Organization/{outside.unit}": outbox.DELIVERED,
        f"Organization/{HOME_CARE}": outbox.DELIVERED,
    }
    assert len(outside.receiver.by_focus(f"Communication/{comm}")) == 1
    [task] = world.tasks(focus=f"Communication/{comm}")
    assert model.owner_of(task) == f"Organization/{HOME_CARE}"


# -- the daily reconciliation -----------------------------------------------------------------


def test_the_daily_reconciliation_finds_what_was_not_delivered(
    isolated: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = isolated
    out = open_outside(world)
    try:
        with httpx.Client(timeout=PATIENT_TIMEOUT_S) as client:
            _reconciliation_day(world, out, client, monkeypatch)
    finally:
        close_outside(world, out)


def _reconciliation_day(
    world: World, out: Outside, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside_ref = f"Organization/{out.unit}"
    home_ref = f"Organization/{HOME_CARE}"
    send(world, [out.unit, HOME_CARE])
    rejected, _ = send(world, [out.unit], kind="epikrise")
    out.receiver.behave(f"Communication/{rejected}", rx.REJECT)
    waiting, _ = send(world, [out.unit], kind="utskrivningsrapport")
    out.receiver.behave(f"Communication/{waiting}", rx.LATER)
    withdrawn, _ = send(world, [HOME_CARE], kind="foresporsel")
    # Written without its outbox row (as with the workflows off): missing.
    patient = world.patient()
    lost = messages.communication(
        "innkalling",
        sender=f"Organization/{WARD}",
        recipients=[home_ref, f"Patient/{patient}"],
        patient=f"Patient/{patient}",
        sent=datetime.now(UTC).isoformat(timespec="seconds"),
        text="Innkalling til kontroll",
    )
    lost_id = world.repo.historical().create("Communication", lost).stored.res_id
    # Sent two days ago (written today): the business of that day, not of today.
    earlier = messages.communication(
        "dialogmelding",
        sender=f"Organization/{WARD}",
        recipients=[home_ref],
        patient=f"Patient/{patient}",
        sent=(datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds"),
        text="Etterslep",
    )
    assert world.system.post("/fhir/Communication", json=earlier).status_code == 201
    draft = dict(lost, status="preparation")
    assert world.system.post("/fhir/Communication", json=draft).status_code == 201

    deliver(world, client, datetime.now(UTC))
    # Withdrawn after it went: its row is no longer explained by anything sent.
    current = world.read(f"Communication/{withdrawn}")
    r = world.system.put(
        f"/fhir/Communication/{withdrawn}", json=dict(current, status="entered-in-error")
    )
    assert r.status_code == 200, r.text

    today = datetime.now(reconcile.OSLO).date()
    report = reconcile.reconcile(world.repo, today)
    lines = {(line.kind, line.recipient): line for line in report.lines}

    def counts(kind: str, recipient: str) -> tuple[int, ...]:
        line = lines[(kind, recipient)]
        return (
            line.expected,
            line.delivered,
            line.pending,
            line.failed,
            line.missing,
            line.unexpected,
        )

    #                                                     exp del pend fail miss unexp
    assert counts("helseopplysninger", outside_ref) == (1, 1, 0, 0, 0, 0)
    assert counts("helseopplysninger", home_ref) == (1, 1, 0, 0, 0, 0)
    assert counts("epikrise", outside_ref) == (1, 0, 0, 1, 0, 0)
    assert counts("utskrivningsrapport", outside_ref) == (1, 0, 1, 0, 0, 0)
    assert counts("innkalling", home_ref) == (1, 0, 0, 0, 1, 0)
    assert counts("innkalling", f"Patient/{patient}") == (1, 0, 0, 0, 1, 0)
    assert counts("foresporsel", home_ref) == (0, 0, 0, 0, 0, 1)
    assert ("dialogmelding", home_ref) not in lines
    assert lines[("helseopplysninger", outside_ref)].recipient_name != outside_ref
    assert not report.ok
    assert sorted(report.missing) == sorted(
        [(f"Communication/{lost_id}", home_ref), (f"Communication/{lost_id}", f"Patient/{patient}")]
    )
    assert [f.focus.split("/_history/")[0] for f in report.failed] == [f"Communication/{rejected}"]
    assert [u.focus.split("/_history/")[0] for u in report.unexpected] == [
        f"Communication/{withdrawn}"
    ]
    # The earlier day: its one message, delivered.
    before = reconcile.reconcile(world.repo, today - timedelta(days=2))
    assert [(x.kind, x.expected, x.delivered) for x in before.lines] == [("dialogmelding", 1, 1)]
    assert before.ok

    # The receipt comes, and the command line says the same.
    out.receiver.send_receipts(post_receipt(world))
    monkeypatch.setenv("FELLESJOURNAL_DATABASE_URL", world.settings.database_url)
    monkeypatch.setenv("FELLESJOURNAL_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("FELLESJOURNAL_SECRET_KEY", "test-secret")
    result = CliRunner().invoke(outbox_app, ["reconcile", "--date", today.isoformat()])
    assert result.exit_code == 1, result.output
    assert f"missing: Communication/{lost_id} to {home_ref} has no outbox row" in result.stdout
    assert f"failed: Communication/{rejected}/" in result.stdout
    assert rx.REJECT_TEXT in result.stdout
    assert "unexpected: message" in result.stdout
    assert "2 message(s) missing, 1 failed" in result.stderr
    [total] = [x for x in result.stdout.splitlines() if x.startswith("total")]
    assert total.split()[1:] == ["6", "3", "0", "1", "2", "1"]

    ok = CliRunner().invoke(
        outbox_app, ["reconcile", "--date", (today - timedelta(days=2)).isoformat()]
    )
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(outbox_app, ["reconcile", "--date", "26.11.2026"])
    assert bad.exit_code == 2
    close_failures(world, rejected)
