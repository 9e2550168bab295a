"""Utskrivningsklar pasient: the operations on an inpatient stay (Encounter).

Our own operations (no HL7 definition exists). Each writes, in one transaction, the
step on the Encounter's utskrivningsklar record (``workflows/utskrivningsklar.py``,
extension ``https://fellesjournal.no/fhir/StructureDefinition/discharge-ready``), the
PLO message (a Communication, sent through the outbox) and, where it says so, the
municipality's work item; a failure commits nothing. Times are the server's.

* ``POST Encounter/[id]/$discharge-ready``: the hospital declares the patient ready for
  discharge. Parameters (the body may be empty): ``municipality`` (valueReference
  Organization: a municipal home-care or nursing-home unit; default: the unit serving
  the patient, else the home-care unit of the oppholdskommune, ``workflows/adt.py``),
  ``text`` (valueString). Sends "utskrivningsklar" (a ``discharge-ready`` item in the
  unit's queue once delivered). For staff of the ward holding the stay (or a system
  client). 409: the stay is not in progress, or is already declared.
* ``POST Encounter/[id]/$discharge-ready-reply``: the municipality answers.
  ``canReceive`` (valueDate: the day it can receive the patient) or ``cannotReceive``
  (valueBoolean true), and ``text``. Sends "svar-utskrivningsklar" to the ward. With
  ``canReceive`` the municipality's open ``discharge-ready`` item for the declaration is
  closed (reason: the reply); with ``cannotReceive`` it stays open, business status
  ``cannot-receive``: the municipality still owes a date, and pays every day until it
  gives one. For staff of the notified unit or of another home-care or nursing-home
  unit of the same municipality, or a system client (answering for the notified unit). 409: no
  declaration in force, or the patient has left.
* ``POST Encounter/[id]/$discharge-ready-withdraw`` (avmelding, e.g. new illness):
  ``text``. Sends "avmelding-utskrivningsklar" to the notified unit and closes its open
  ``discharge-ready`` item (reason: the avmelding). Ward staff or a system client. 409:
  no declaration in force, or the stay is not in progress.
* ``GET Encounter/[id]/$discharge-ready-billing``: what the municipality owes for the
  stay (``workflows/utskrivningsklar.py``): ``days`` (valueInteger), ``amount`` and
  ``rate`` (valueMoney NOK; the rate of the latest year billed, or the current year's),
  ``period`` (valuePeriod: first and last paid day), ``final`` (valueBoolean: the
  patient has left; else the count runs to yesterday), and one ``declaration`` part per
  declaration (``declared``, ``municipality``, ``notified`` when the notice arrived,
  ``withdrawn``, ``days``, ``amount``, ``firstDay``/``lastDay``). Anyone who may read
  the Encounter.

The step operations answer 200 with Parameters: ``event``, ``time``, ``encounter``,
``communication`` (the message), ``municipality``, the reply's ``canReceive`` or
``cannotReceive``, and one ``task`` per work item they closed or changed. Errors are
OperationOutcomes: 400 bad body or parameters, 403 not the caller's to do, 404 unknown
Encounter (or not the caller's to see), 405 wrong method, 409 wrong state, 412 changed
meanwhile, 422 a stay or unit that does not fit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final, NoReturn

from fellesjournal.api import parameters
from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse, dumps
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, Issue, bad_request, error
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.sql import SqlTransaction
from fellesjournal.workflows import adt, model, outbox, reactions, rules, units
from fellesjournal.workflows import utskrivningsklar as uk

Resource = dict[str, Any]

#: Business status of a ``discharge-ready`` item the municipality answered "cannot
#: receive yet": open until it gives a date.
CANNOT_RECEIVE: Final = "cannot-receive"
ANSWERED: Final = "answered"
WITHDRAWN: Final = "withdrawn"


def clock() -> datetime:
    """Now (the tests pin it to replay a stay's days)."""
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _only(req: FhirRequest, method: str, name: str) -> None:
    if ("GET" if req.method == "HEAD" else req.method) != method:
        raise FhirError(
            405,
            [Issue("error", "not-supported", f"${name}: use {method}")],
            {"Allow": method},
        )


def _params(req: FhirRequest, allowed: tuple[str, ...]) -> dict[str, Resource]:
    """The body's parameters by name (an empty body: none); 400 for anything else."""
    if not req.body.strip():
        return {}
    return parameters.by_name(req.json_body(), allowed)


def _text(params: dict[str, Resource]) -> str | None:
    if "text" not in params:
        return None
    value = params["text"].get("valueString")
    if not isinstance(value, str) or not value.strip():
        raise bad_request("'text' must be a valueString that is not blank", "text")
    return value.strip()


class _Stay:
    """The Encounter an operation works on, read as the caller in ``tx``."""

    def __init__(self, repo: GuardedRepository, tx: SqlTransaction, enc_id: str) -> None:
        stored = repo.read("Encounter", enc_id, tx=tx)  # 404/410, and the caller's access
        assert stored.content is not None
        self.repo, self.tx = repo, tx
        self.id = enc_id
        self.reference = f"Encounter/{enc_id}"
        self.version = stored.version
        self.resource: Resource = dict(jsonio.loads(stored.content))
        self.fx = reactions.Effects(repo, tx, now=clock())
        self.events = uk.events_of(self.resource)
        ward = adt.ward_of(self.fx, self.resource)
        if ward is None:
            raise error(
                422,
                "business-rule",
                f"{self.reference} is not an inpatient stay at a hospital ward (class IMP, "
                "serviceProvider a ward): only a stay can be utskrivningsklar",
                "Encounter.class",
            )
        self.ward = ward
        patient = adt.patient_of(self.resource)
        if patient is None:
            raise error(422, "required", f"{self.reference} has no patient", "Encounter.subject")
        self.patient = patient

    @property
    def now(self) -> datetime:
        return self.fx.now

    def in_hospital(self, what: str) -> None:
        status = self.resource.get("status")
        if status not in adt.STAYING:
            raise error(
                409,
                "business-rule",
                f"{what}: the stay is {status}, not in progress",
                "Encounter.status",
            )

    def declaration(self, what: str) -> uk.Event:
        current = uk.active_declaration(self.events)
        if current is None:
            raise error(
                409,
                "business-rule",
                f"{what}: the patient is not declared utskrivningsklar (no declaration in force)",
            )
        return current

    def record(self, ev: uk.Event) -> None:
        """Append ``ev`` to the record on the Encounter, as the caller."""
        body = uk.with_event(self.resource, ev)
        body.pop("meta", None)
        with adt.recording():
            self.repo.update("Encounter", self.id, body, if_match=self.version, tx=self.tx)

    def send(self, kind: str, **kwargs: Any) -> str:
        """Create the message as the caller (the outbox row comes with it)."""
        comm = adt.message(
            kind, patient=self.patient, encounter=self.reference, sent=_iso(self.now), **kwargs
        )
        return f"Communication/{self.repo.create('Communication', comm, tx=self.tx).stored.res_id}"

    def items(self, declaration: uk.Event) -> list[Resource]:
        """The open ``discharge-ready`` items the declaration's message became."""
        if not declaration.communication:
            return []
        out = []
        for task_id in self.fx.search(
            "Task",
            [
                ("focus", declaration.communication),
                ("code", f"{model.CODE_SYSTEM}|{model.DISCHARGE_READY}"),
            ],
        ):
            task = self.fx.read(f"Task/{task_id}")
            if task is not None and model.is_open(task):
                out.append(task)
        return out

    def write_task(self, task: Resource) -> str:
        task.pop("meta", None)
        self.repo.update("Task", task["id"], task, tx=self.tx)
        return f"Task/{task['id']}"


def _forbid(repo: GuardedRepository, patient: str, why: str) -> NoReturn:
    """403 with ``why`` (audited as a denied write: a denied read would answer 404)."""
    repo.gate.deny("update", patient.split("/", 1)[1], why)
    raise error(403, "forbidden", why)  # deny raises; this keeps the type checker sure


def _ward_staff_only(stay: _Stay, what: str) -> None:
    actor = stay.repo.ctx.actor
    if actor.is_system:
        return
    if actor.work is None or actor.work.unit_id != stay.ward.id:
        _forbid(stay.repo, stay.patient, f"{what} is done by the staff of {stay.ward.name}")


def _answer(stay: _Stay, ev: uk.Event, tasks: list[str]) -> FhirResponse:
    parts: list[Resource] = [
        {"name": "event", "valueCode": ev.event},
        {"name": "time", "valueDateTime": ev.time},
        {"name": "encounter", "valueReference": {"reference": stay.reference}},
    ]
    if ev.communication:
        parts.append({"name": "communication", "valueReference": {"reference": ev.communication}})
    if ev.municipality:
        parts.append({"name": "municipality", "valueReference": {"reference": ev.municipality}})
    if ev.can_receive:
        parts.append({"name": "canReceive", "valueDate": ev.can_receive})
    if ev.cannot_receive:
        parts.append({"name": "cannotReceive", "valueBoolean": True})
    parts += [{"name": "task", "valueReference": {"reference": t}} for t in tasks]
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": parts}))


def discharge_ready(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``POST Encounter/[id]/$discharge-ready``."""
    _only(req, "POST", "discharge-ready")
    params = _params(req, ("municipality", "text"))
    text = _text(params)
    with repo.writing() as tx:
        stay = _Stay(repo, tx, req.path[1])
        _ward_staff_only(stay, "declaring a patient utskrivningsklar")
        stay.in_hospital("a declaration")
        current = uk.active_declaration(stay.events)
        if current is not None:
            raise error(
                409,
                "business-rule",
                f"the patient was declared utskrivningsklar at {current.time}; "
                "withdraw that declaration ($discharge-ready-withdraw) first",
            )
        municipality = _municipality(stay, params.get("municipality"))
        sent = stay.send(
            "utskrivningsklar",
            sender=stay.ward.reference,
            recipients=[municipality],
            text=f"Pasienten er utskrivningsklar fra {stay.ward.name} "
            f"{adt.local_text(_iso(stay.now))}." + (f" {text}" if text else ""),
        )
        ev = uk.Event(
            uk.DECLARED,
            _iso(stay.now),
            author=rules.actor_reference(repo.ctx.actor),
            municipality=municipality,
            communication=sent,
            text=text,
        )
        stay.record(ev)
    return _answer(stay, ev, [])


def _municipality(stay: _Stay, param: Resource | None) -> str:
    if param is None:
        found = adt.default_municipality_unit(stay.fx, stay.patient)
        if found is None:
            raise error(
                422,
                "business-rule",
                "the patient's municipality is not known (no municipal services and no "
                "municipality number in the address): name the unit in 'municipality'",
                "municipality",
            )
        return found
    ref = adt.ref_of(param.get("valueReference"))
    if ref is None or not ref.startswith("Organization/") or ref.count("/") != 1:
        raise bad_request(
            "'municipality' must be a valueReference to an Organization", "municipality"
        )
    unit = units.unit(stay.tx, ref)
    if unit is None:
        raise error(422, "not-found", f"{ref} is not a known unit", "municipality")
    if unit.kind not in adt.SERVICE_KINDS:
        raise error(
            422,
            "business-rule",
            f"{unit.name} is not a municipal home-care or nursing-home unit",
            "municipality",
        )
    return ref


def discharge_ready_reply(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``POST Encounter/[id]/$discharge-ready-reply``."""
    _only(req, "POST", "discharge-ready-reply")
    params = _params(req, ("canReceive", "cannotReceive", "text"))
    text = _text(params)
    can = _can_receive(params)
    with repo.writing() as tx:
        stay = _Stay(repo, tx, req.path[1])
        declaration = stay.declaration("a reply")
        sender = _municipal_sender(stay, declaration)
        stay.in_hospital("a reply")
        if can is not None and can < uk.local_day(declaration.at):
            raise error(
                422,
                "business-rule",
                f"canReceive ({can}) is before the declaration ({declaration.time})",
                "canReceive",
            )
        said = (
            f"Kommunen kan ta imot pasienten {can.strftime('%d.%m.%Y')}."
            if can is not None
            else "Kommunen kan ikke ta imot pasienten ennå."
        )
        sent = stay.send(
            "svar-utskrivningsklar",
            sender=sender,
            recipients=[stay.ward.reference],
            text=said + (f" {text}" if text else ""),
            in_response_to=declaration.communication,
        )
        ev = uk.Event(
            uk.REPLY,
            _iso(stay.now),
            author=rules.actor_reference(repo.ctx.actor),
            municipality=sender,
            communication=sent,
            can_receive=can.isoformat() if can is not None else None,
            cannot_receive=can is None,
            text=text,
        )
        stay.record(ev)
        changed = []
        for task in stay.items(declaration):
            if can is not None:
                task["status"] = "completed"
                model.set_state(task, ANSWERED)
                task["statusReason"] = {"text": f"Svar sendt ({sent}): {said}"}
            elif model.state_of(task) != CANNOT_RECEIVE:
                model.set_state(task, CANNOT_RECEIVE)
            else:
                continue
            changed.append(stay.write_task(task))
    return _answer(stay, ev, changed)


def _can_receive(params: dict[str, Resource]) -> date | None:
    """The reply's date (None: cannot receive); 400 unless exactly one is given."""
    has_can, has_cannot = "canReceive" in params, "cannotReceive" in params
    if has_can == has_cannot:
        raise bad_request("give either 'canReceive' (valueDate) or 'cannotReceive' (true)")
    if has_cannot:
        if params["cannotReceive"].get("valueBoolean") is not True:
            raise bad_request("'cannotReceive' must be valueBoolean true", "cannotReceive")
        return None
    raw = params["canReceive"].get("valueDate")
    try:
        if not isinstance(raw, str) or len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise bad_request("'canReceive' must be a valueDate (YYYY-MM-DD)", "canReceive") from None


def _municipal_sender(stay: _Stay, declaration: uk.Event) -> str:
    """The unit replying: the caller's (the notified unit, or another home-care or
    nursing-home unit of the same municipality), or the notified unit for a system
    client. Others (the fastlege, the hospital) do not answer for the municipality."""
    notified = declaration.municipality
    actor = stay.repo.ctx.actor
    if notified is None:
        raise error(409, "business-rule", "the declaration names no municipality")
    if actor.is_system:
        return notified
    target = units.unit(stay.tx, notified)
    work = actor.work
    if work is not None and target is not None:
        own = units.unit(stay.tx, f"Organization/{work.unit_id}")
        if own is not None and (
            own.reference == notified
            or (own.kind in adt.SERVICE_KINDS and own.parent and own.parent == target.parent)
        ):
            return own.reference
    _forbid(
        stay.repo,
        stay.patient,
        f"the reply comes from {target.name if target else notified} or its municipality",
    )


def discharge_ready_withdraw(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``POST Encounter/[id]/$discharge-ready-withdraw`` (avmelding)."""
    _only(req, "POST", "discharge-ready-withdraw")
    params = _params(req, ("text",))
    text = _text(params)
    with repo.writing() as tx:
        stay = _Stay(repo, tx, req.path[1])
        _ward_staff_only(stay, "withdrawing a declaration (avmelding)")
        stay.in_hospital("an avmelding")
        declaration = stay.declaration("an avmelding")
        notified = declaration.municipality
        if notified is None:
            raise error(409, "business-rule", "the declaration names no municipality")
        said = f"Pasienten er ikke lenger utskrivningsklar (avmeldt av {stay.ward.name})."
        sent = stay.send(
            "avmelding-utskrivningsklar",
            sender=stay.ward.reference,
            recipients=[notified],
            text=said + (f" {text}" if text else ""),
            in_response_to=declaration.communication,
        )
        ev = uk.Event(
            uk.WITHDRAWN,
            _iso(stay.now),
            author=rules.actor_reference(repo.ctx.actor),
            municipality=notified,
            communication=sent,
            text=text,
        )
        stay.record(ev)
        changed = []
        for task in stay.items(declaration):
            task["status"] = "cancelled"
            model.set_state(task, WITHDRAWN)
            task["statusReason"] = {"text": f"Avmeldt ({sent})" + (f": {text}" if text else "")}
            changed.append(stay.write_task(task))
    return _answer(stay, ev, changed)


def discharge_ready_billing(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """``GET Encounter/[id]/$discharge-ready-billing``."""
    _only(req, "GET", "discharge-ready-billing")
    with repo.reading() as tx:
        stay = _Stay(repo, tx, req.path[1])
        delivered: dict[str, datetime | None] = {}
        for ev in stay.events:
            if ev.event == uk.DECLARED and ev.communication:
                delivered[ev.communication] = _delivered(tx, ev.communication, ev.municipality)
        discharged = None
        end = (stay.resource.get("period") or {}).get("end")
        if stay.resource.get("status") == "finished" and isinstance(end, str):
            discharged = uk.parse_instant(end)
        found = uk.bill(uk.declarations(stay.events, delivered), discharged, stay.now)
    rate, _year = uk.rate_for((found.last or uk.local_day(stay.now)).year)
    parts: list[Resource] = [
        {"name": "encounter", "valueReference": {"reference": stay.reference}},
        {"name": "days", "valueInteger": len(found.days)},
        {"name": "amount", "valueMoney": _money(found.amount)},
        {"name": "rate", "valueMoney": _money(rate)},
        {"name": "final", "valueBoolean": found.final},
    ]
    if found.first and found.last:
        parts.append(
            {
                "name": "period",
                "valuePeriod": {"start": found.first.isoformat(), "end": found.last.isoformat()},
            }
        )
    for part in found.parts:
        d = part.declaration
        sub: list[Resource] = [{"name": "declared", "valueDateTime": _iso(d.declared)}]
        if d.municipality:
            sub.append({"name": "municipality", "valueReference": {"reference": d.municipality}})
        if d.notified:
            sub.append({"name": "notified", "valueDateTime": _iso(d.notified)})
        if d.withdrawn:
            sub.append({"name": "withdrawn", "valueDateTime": _iso(d.withdrawn)})
        sub += [
            {"name": "days", "valueInteger": len(part.days)},
            {"name": "amount", "valueMoney": _money(part.amount)},
        ]
        if part.days:
            sub += [
                {"name": "firstDay", "valueDate": part.days[0].isoformat()},
                {"name": "lastDay", "valueDate": part.days[-1].isoformat()},
            ]
        parts.append({"name": "declaration", "part": sub})
    return FhirResponse(200, dumps({"resourceType": "Parameters", "parameter": parts}))


def _money(amount: int) -> Resource:
    return {"value": amount, "currency": uk.CURRENCY}


def _delivered(tx: SqlTransaction, communication: str, recipient: str | None) -> datetime | None:
    """When the message reached ``recipient`` (its receipt), or None."""
    for row in outbox.items(tx, focus_prefix=f"{communication}/"):
        if row.state == outbox.DELIVERED and row.delivered and row.recipient == recipient:
            return datetime.fromtimestamp(row.delivered / 1_000_000, UTC)
    return None
