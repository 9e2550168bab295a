"""A real receiving HTTP service on loopback: the organisation outside the shared record.

:class:`Receiver` listens on ``127.0.0.1`` on a free port (``http.server``, one thread per
connection, HTTP/1.1 keep-alive) and takes the FHIR messages the outbox posts to an
Endpoint. What it does with each message is scripted (:meth:`Receiver.behave` per message
or focus, :meth:`Receiver.script` as a function, or the default), one of :data:`BEHAVIOURS`:

* ``ack``: answers 200 with an application receipt ``ok``;
* ``reject``: answers 200 with a ``fatal-error`` receipt and an OperationOutcome naming
  what is wrong (:data:`REJECT_TEXT`);
* ``transient``: answers 200 with a ``transient-error`` receipt (try again later);
* ``later``: answers 202 without a receipt and keeps an ``ok`` receipt to send later to
  the sender's ``$process-message`` (:meth:`Receiver.send_receipts`);
* ``timeout``: answers nothing until long after the client gave up (``hang_s``);
* ``drop``: reads the message and closes the connection without an answer;
* ``http-500`` / ``http-400``: answers that status with an OperationOutcome.

Every message that arrives is recorded (:attr:`Receiver.arrivals`, in order) with the
behaviour it met; :attr:`Receiver.acknowledged` holds the ids of the messages the
receiver has said ``ok`` to (recorded *before* the answer is written, so a sender that has
seen the receipt always finds it here). The tests use it as the ground truth: a message
the outbox calls delivered must be in it.

``python -m tests.workflows.receiver --port N`` runs one that acknowledges everything
(the bench runs it in a process of its own).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

ACK: Final = "ack"
REJECT: Final = "reject"
TRANSIENT: Final = "transient"
LATER: Final = "later"
TIMEOUT: Final = "timeout"
DROP: Final = "drop"
HTTP_500: Final = "http-500"
HTTP_400: Final = "http-400"
BEHAVIOURS: Final = (ACK, REJECT, TRANSIENT, LATER, TIMEOUT, DROP, HTTP_500, HTTP_400)

#: The error text of a ``reject`` receipt (the sender's failure item must carry it).
REJECT_TEXT: Final = "Mottaker kjenner ikke pasienten (ukjent fødselsnummer)"
TRANSIENT_TEXT: Final = "Fagsystemet er midlertidig utilgjengelig"

Resource = dict[str, Any]
Script = Callable[["Arrival"], str]


@dataclass(frozen=True, slots=True)
class Arrival:
    """One message as it arrived: its MessageHeader id and focus, the behaviour it met,
    which arrival of that message it was (1 = first), and the whole Bundle."""

    message_id: str
    focus: str | None
    event: str | None
    attempt: int
    behaviour: str
    bundle: Resource = field(repr=False)
    at: float = 0.0


def receipt(message_id: str, code: str, text: str = "", source: str = "") -> Resource:
    """An application receipt: a message Bundle whose MessageHeader.response names the
    message it answers (``ok``, ``transient-error`` or ``fatal-error``)."""
    header: Resource = {
        "resourceType": "MessageHeader",
        "id": str(uuid.uuid4()),
        "eventCoding": {
            "system": "http://terminology.hl7.org/CodeSystem/message-events",
            "code": "receipt",
        },
        "source": {"endpoint": source or "http://127.0.0.1/receiver"},
        "response": {"identifier": message_id, "code": code},
    }
    entries: list[Resource] = [{"fullUrl": f"urn:uuid:{header['id']}", "resource": header}]
    if text:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
        }
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": outcome})
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "entry": entries,
    }


def _outcome(status: int, text: str) -> bytes:
    return json.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "exception", "diagnostics": text}],
        }
    ).encode()


class Receiver:
    """The receiving service (see the module doc). Use as a context manager, or
    :meth:`start` and :meth:`stop`."""

    def __init__(self, default: str = ACK, *, hang_s: float = 2.0) -> None:
        if default not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {default!r}")
        self.default = default
        self.hang_s = hang_s
        self.arrivals: list[Arrival] = []
        self.acknowledged: set[str] = set()
        self.pending_receipts: list[str] = []  #: ids of ``later`` messages owed an ``ok``
        self._plans: dict[str, list[str]] = {}
        self._count: dict[str, int] = {}
        self._script: Script | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life -------------------------------------------------------------------------------
    def start(self) -> Receiver:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/fhir/$process-message"

    # -- script -----------------------------------------------------------------------------
    def behave(self, key: str, *behaviours: str) -> None:
        """Meet the arrivals of one message (``key``: its message id, or its focus
        ``Communication/id``) with ``behaviours`` in turn; the last one repeats."""
        unknown = [b for b in behaviours if b not in BEHAVIOURS]
        if unknown or not behaviours:
            raise ValueError(f"unknown behaviours {unknown}")
        with self._lock:
            self._plans[key] = list(behaviours)

    def script(self, fn: Script | None) -> None:
        """Decide every arrival no plan covers with ``fn(arrival)`` (its ``behaviour``
        field holds the default); None: back to the default."""
        self._script = fn

    def _arrive(self, header: Resource, bundle: Resource) -> Arrival:
        """Record one arrival and decide what it meets: its plan, else the script, else
        the default."""
        message_id = str(header["id"])
        focus = ((header.get("focus") or [{}])[0]).get("reference")
        event = (header.get("eventCoding") or {}).get("code")
        with self._lock:
            attempt = self._count[message_id] = self._count.get(message_id, 0) + 1
            plan = self._plans.get(message_id) or (self._plans.get(focus) if focus else None)
        arrival = Arrival(message_id, focus, event, attempt, self.default, bundle, time.time())
        if plan:
            behaviour = plan[min(attempt, len(plan)) - 1]
        elif self._script is not None:
            behaviour = self._script(arrival)
        else:
            behaviour = self.default
        arrival = dataclasses.replace(arrival, behaviour=behaviour)
        with self._lock:
            self.arrivals.append(arrival)
            if behaviour == ACK:
                self.acknowledged.add(message_id)
            elif behaviour == LATER:
                self.pending_receipts.append(message_id)
        return arrival

    # -- what came in -----------------------------------------------------------------------
    def received(self, message_id: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.message_id == message_id]

    def by_focus(self, focus: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.focus == focus]

    def send_receipts(self, post: Callable[[Resource], int]) -> dict[str, int]:
        """Send the ``ok`` receipts owed to ``later`` messages through ``post`` (which
        delivers a receipt Bundle to the sender's ``$process-message`` and returns the
        HTTP status); each message's status. A receipt the sender took (200) counts as
        acknowledged."""
        with self._lock:
            owed, self.pending_receipts = self.pending_receipts, []
        statuses: dict[str, int] = {}
        for message_id in owed:
            with self._lock:
                self.acknowledged.add(message_id)
            status = post(receipt(message_id, "ok", source=self.url))
            statuses[message_id] = status
            if status != 200:
                with self._lock:
                    self.acknowledged.discard(message_id)
                    self.pending_receipts.append(message_id)
        return statuses


def _header(bundle: Any) -> Resource | None:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return None
    if bundle.get("type") != "message":
        return None
    entries = bundle.get("entry") or []
    first = entries[0].get("resource") if entries and isinstance(entries[0], dict) else None
    if not isinstance(first, dict) or first.get("resourceType") != "MessageHeader":
        return None
    return first


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The status line and headers go out before the body: without this, Nagle's
        # algorithm holds the body until the client's delayed ACK (40 ms a message).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the tests read the arrivals instead

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            if body:
                self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self) -> None:
            with receiver._lock:  # readiness and counts, for the bench
                counts = {
                    "received": len(receiver.arrivals),
                    "acknowledged": len(receiver.acknowledged),
                }
            self._answer(200, json.dumps(counts).encode())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                bundle = json.loads(raw)
            except ValueError:
                bundle = None
            header = _header(bundle)
            if header is None or not isinstance(header.get("id"), str):
                self._answer(400, _outcome(400, "not a FHIR message (Bundle with MessageHeader)"))
                return
            arrival = receiver._arrive(header, bundle)
            self._behave(arrival)

        def _behave(self, arrival: Arrival) -> None:
            b = arrival.behaviour
            mid = arrival.message_id
            if b == ACK:
                self._answer(200, json.dumps(receipt(mid, "ok", source=receiver.url)).encode())
            elif b == REJECT:
                body = receipt(mid, "fatal-error", REJECT_TEXT, source=receiver.url)
                self._answer(200, json.dumps(body).encode())
            elif b == TRANSIENT:
                body = receipt(mid, "transient-error", TRANSIENT_TEXT, source=receiver.url)
                self._answer(200, json.dumps(body).encode())
            elif b == LATER:
                self._answer(202)
            elif b == TIMEOUT:
                receiver._stopping.wait(receiver.hang_s)
                self.close_connection = True
            elif b == DROP:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
            elif b == HTTP_500:
                self._answer(500, _outcome(500, "intern feil hos mottaker"))
            else:
                self._answer(400, _outcome(400, "meldingen kan ikke leses"))

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout): fine

    return Handler


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tests.workflows.receiver", description=__doc__)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    receiver = Receiver(ACK)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(receiver))
    server.daemon_threads = True
    receiver._server = server
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
