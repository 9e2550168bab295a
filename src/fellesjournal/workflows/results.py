"""Results to acknowledge: every result has a responsible clinician, or the error queue.

:func:`on_result` reacts to every write of a DiagnosticReport or an Observation (in the
writing transaction, ``workflows/reactions.py``).

**What is a result.** Every DiagnosticReport, any category. An Observation only when it
is individually ordered: its ``basedOn`` names an order (:data:`ORDER_TYPES`); a vital
sign charted on the ward has none and is no result to acknowledge. An Observation that
a DiagnosticReport lists in ``result`` is acknowledged through the report (one item per
report, not one per analysis). A DiagnosticReport without ``basedOn`` written by a
health worker is their own report (they are its responsible clinician): no item; from a
system client (a lab or imaging integration) it is a result without an order.

**Matched: an acknowledgement item** (:data:`~model.RESULT_ACKNOWLEDGEMENT`) per ordering
unit. The order is ``basedOn``; its ``requester`` is a PractitionerRole (its
``organization`` is the unit) or an Organization (the unit). The unit owns the item;
the ordering PractitionerRole is its assignee while that role is active, and when the
orderer has left (role inactive) the item is the unit's alone. Due date and priority:
:func:`urgency` (the rule is spelt out at :data:`ROUTINE_WORKING_DAYS`).

**Unmatched: the error queue.** A result without a subject, whose subject is not a
stored Patient, without an order, whose order does not exist or is another patient's,
or whose order's requester does not resolve to a member unit with staff, becomes a
:data:`~model.RESULT_UNMATCHED` item owned by the configured error-queue unit
(``Settings.result_error_queue_unit``), due the same day, its description naming
exactly what did not match. Never dropped.

**Resolving.** When a later version of an unmatched result matches (the error-queue
staff set its ``subject``/``basedOn``, or the lab sends it again corrected), the open
unmatched item is closed ("matched", naming who did it) and the ordering unit gets its
acknowledgement item, in that transaction.

**Updates.** A new version that is clinically new (:func:`revised`: the status changed,
or it is ``amended``/``corrected``/``appended``) after the unit acknowledged the result
gets a new open item (the closed one keeps its stamps): the clinician must see the
correction. While an item is open, an update adds a note to it and tightens its due date
when the new version is more urgent.

**Withdrawn** (``entered-in-error``, ``cancelled`` after having been a result, or a
deletion) closes nothing: an open item stays open with a note saying the result was
withdrawn, and a unit that had already acknowledged it gets a new item, due the same
day: someone may have acted on a result that was wrong. The clinician closes the item
(with a reason) once they have checked. A result that is ``entered-in-error`` from its
first version was never a result: no item. A result ``cancelled`` from its first version
(the analysis was not done) is one: the orderer must know, to order again.

:func:`acknowledge` closes a result's open items for the caller's unit in one
transaction (``POST DiagnosticReport/[id]/$acknowledge``, ``api/results.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import conflict, not_found
from fellesjournal.norway.workdays import add_working_days
from fellesjournal.workflows import model, rules, units

if TYPE_CHECKING:
    from fellesjournal.service.repository import GuardedRepository
    from fellesjournal.workflows.reactions import Change, Effects

Resource = dict[str, Any]

RESULT_TYPES: Final = ("DiagnosticReport", "Observation")
#: What a result's ``basedOn`` may name as its order (both have ``requester``, ``subject``).
ORDER_TYPES: Final = ("ServiceRequest", "MedicationRequest")
INTERPRETATION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

#: The due-date rule. A result must be acknowledged
#:
#: * **the same day** (the day it arrives, Europe/Oslo, weekends and holidays included: a
#:   critical value does not wait for Monday), priority ``stat``, when it or one of its
#:   observations is interpreted critical (:data:`CRITICAL`);
#: * **the same day**, priority ``urgent`` (or the order's ``asap``/``stat``), when it is
#:   abnormal (:data:`ABNORMAL`, on ``Observation.interpretation``, a component's, or a
#:   report's ``conclusionCode``) or its order was prioritised (:data:`URGENT_ORDERS`);
#: * the same day, ``urgent``, when it is a correction or withdrawal of a result the unit
#:   had already acknowledged (someone may have acted on the earlier version);
#: * otherwise within ``ROUTINE_WORKING_DAYS`` working days (Norwegian public holidays
#:   skipped), priority ``routine``.
#:
#: Interpretation codes count from the HL7 v3 ObservationInterpretation system or
#: without a system. Unmatched results are due the same day (:data:`UNMATCHED_PRIORITY`).
ROUTINE_WORKING_DAYS: Final = 2
CRITICAL: Final = frozenset({"HH", "LL", "AA"})
ABNORMAL: Final = frozenset({"A", "H", "L", "HU", "LU", "POS", "DET"})
URGENT_ORDERS: Final = frozenset({"urgent", "asap", "stat"})
UNMATCHED_PRIORITY: Final = "urgent"
OSLO: Final = ZoneInfo("Europe/Oslo")

#: Statuses that withdraw a result (FHIR: the report/observation is not to be used).
WITHDRAWN: Final = frozenset({"entered-in-error", "cancelled"})
#: Statuses of a revision after a final result.
REVISIONS: Final = frozenset({"amended", "corrected", "appended"})

#: Business states (``work-item-state``) of the items made here.
RECEIVED: Final = "received"  #: a new result to acknowledge
REVISED: Final = "revised"  #: a correction of a result the unit had acknowledged
WITHDRAWN_STATE: Final = "withdrawn"  #: a result withdrawn after it was acknowledged
UNMATCHED: Final = "unmatched"  #: waiting in the error queue
ACKNOWLEDGED: Final = "acknowledged"  #: closed: seen and judged
MATCHED: Final = "matched"  #: closed: the error queue matched the result
ACKNOWLEDGE_REASON: Final = "Sett og vurdert"

_PRIORITY_RANK: Final = {"routine": 0, "urgent": 1, "asap": 2, "stat": 3}


@dataclass(frozen=True, slots=True)
class Orderer:
    """One ordering unit of a result: the item's owner and (while active) its assignee."""

    unit: str  #: ``Organization/id``
    assignee: str | None  #: ``PractitionerRole/id`` of the orderer, when still active
    order: str  #: ``ServiceRequest/id`` (or another :data:`ORDER_TYPES` reference)
    priority: str | None  #: the order's priority


@dataclass(slots=True)
class Matching:
    """Who a result belongs to: the patient and the ordering units, or why not."""

    patient: str | None
    orderers: list[Orderer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return bool(self.orderers)


# -- reading results --------------------------------------------------------------------------


def _ref(value: Any) -> str | None:
    """A local ``Type/id`` from a Reference (a version suffix dropped), else None."""
    ref = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(ref, str) or not ref:
        return None
    ref = ref.split("/_history/", 1)[0]
    return ref if ref.count("/") == 1 and not ref.startswith(("http:", "https:", "#")) else None


def _based_on(result: Resource) -> list[Any]:
    return [b for b in result.get("basedOn") or () if isinstance(b, dict)]


def _names_order(based_on: Resource) -> bool:
    """Does a ``basedOn`` entry name an order (by reference, local or not, or by type)?"""
    ref = str(based_on.get("reference") or "")
    return based_on.get("type") in ORDER_TYPES or any(
        ref.startswith(f"{t}/") or f"/{t}/" in ref for t in ORDER_TYPES
    )


def is_result(res_type: str, result: Resource) -> bool:
    """Is this a result to acknowledge (module doc)? Membership in a report aside."""
    if res_type == "DiagnosticReport":
        return True
    return res_type == "Observation" and any(map(_names_order, _based_on(result)))


def _what(result: Resource) -> str:
    """The result's name for people: ``code.text``, a coding's display or code."""
    code = result.get("code") or {}
    if code.get("text"):
        return str(code["text"])
    for coding in code.get("coding") or ():
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return "prøvesvar"


def _interpretations(fx: Effects, res_type: str, result: Resource) -> set[str]:
    """The interpretation codes of the result, its components and (for a report) its
    conclusion and its observations (referenced or contained)."""
    concepts: list[Any] = []

    def of_observation(obs: Resource) -> None:
        concepts.extend(obs.get("interpretation") or ())
        for comp in obs.get("component") or ():
            if isinstance(comp, dict):
                concepts.extend(comp.get("interpretation") or ())

    if res_type == "Observation":
        of_observation(result)
    else:
        concepts.extend(result.get("conclusionCode") or ())
        contained = {
            f"#{c.get('id')}": c for c in result.get("contained") or () if isinstance(c, dict)
        }
        for item in (result.get("result") or ())[:100]:
            raw = item.get("reference") if isinstance(item, dict) else None
            obs = contained.get(raw) if isinstance(raw, str) else None
            if obs is None:
                ref = _ref(item)
                obs = fx.read(ref) if ref and ref.startswith("Observation/") else None
            if obs is not None:
                of_observation(obs)
    codes: set[str] = set()
    for concept in concepts:
        for coding in (concept or {}).get("coding") or () if isinstance(concept, dict) else ():
            if coding.get("system") in (None, INTERPRETATION_SYSTEM) and coding.get("code"):
                codes.add(str(coding["code"]))
    return codes


def today(fx: Effects) -> date:
    """The day in Norway (a result at 00:30 Norwegian time arrives on that day)."""
    return fx.now.astimezone(OSLO).date()


def urgency(
    fx: Effects, res_type: str, result: Resource, orderers: list[Orderer]
) -> tuple[str, str, str]:
    """``(priority, due date, label)`` of a result by the rule at :data:`ROUTINE_WORKING_DAYS`."""
    day = today(fx)
    codes = _interpretations(fx, res_type, result)
    if codes & CRITICAL:
        return "stat", day.isoformat(), "Kritisk prøvesvar"
    ordered = max(
        (o.priority for o in orderers if o.priority in URGENT_ORDERS),
        key=lambda p: _PRIORITY_RANK[p or "routine"],
        default=None,
    )
    if codes & ABNORMAL:
        priority = ordered if ordered in ("asap", "stat") else "urgent"
        return priority, day.isoformat(), "Avvikende prøvesvar"
    cancelled = result.get("status") == "cancelled"
    if ordered:
        return (
            ordered,
            day.isoformat(),
            ("Analysen ble ikke utført" if cancelled else "Prøvesvar på hasterekvisisjon"),
        )
    due = add_working_days(day, ROUTINE_WORKING_DAYS).isoformat()
    return "routine", due, "Analysen ble ikke utført" if cancelled else "Nytt prøvesvar"


def revised(old: Resource | None, new: Resource) -> bool:
    """Is ``new`` clinically new after ``old`` (worth a new acknowledgement)? The status
    changed (preliminary → final, final → amended, withdrawn → final...), or ``new`` is a
    revision (a second correction keeps ``corrected``). A resend of the same status is not."""
    if old is None:
        return True
    if _clinical(new) == _clinical(old):
        return False  # only labels, tags or the release to the patient changed
    return new.get("status") != old.get("status") or new.get("status") in REVISIONS


def _clinical(result: Resource) -> Resource:
    """``result`` without what is not the result itself (metadata, extensions)."""
    return {k: v for k, v in result.items() if k not in ("meta", "extension", "text")}


# -- matching ---------------------------------------------------------------------------------


def match(fx: Effects, result: Resource) -> Matching:
    """The patient and the ordering units of ``result``, or the problems (module doc)."""
    subject = result.get("subject")
    ref = _ref(subject)
    if not isinstance(subject, dict) or not subject:
        return Matching(None, problems=["svaret mangler pasient (subject)"])
    if ref is None:
        ident = subject.get("identifier") or {}
        system = ident.get("system") if isinstance(ident, dict) else None
        if system:
            what = f"subject angir bare en identifikator ({system}), ingen lagret pasient"
        else:
            what = "subject er ingen lokal referanse til en pasient"
        return Matching(None, problems=[what])
    if not ref.startswith("Patient/"):
        return Matching(None, problems=[f"subject {ref} er ikke en pasient (Patient)"])
    if fx.read(ref) is None:
        return Matching(None, problems=[f"subject {ref} finnes ikke som lagret pasient"])
    found = Matching(ref)
    based_on = _based_on(result)
    if not based_on:
        found.problems.append("svaret mangler rekvisisjon (basedOn)")
    seen: set[str] = set()
    for entry in based_on:
        order_ref = _ref(entry)
        if order_ref is None or order_ref.split("/")[0] not in ORDER_TYPES:
            named = entry.get("reference") or (entry.get("identifier") or {}).get("value")
            found.problems.append(
                f"basedOn {named or '(tom)'} er ingen lokal rekvisisjon (ServiceRequest)"
            )
            continue
        orderer = _orderer(fx, fx.search, ref, order_ref, found.problems)
        if orderer is not None and orderer.unit not in seen:
            seen.add(orderer.unit)
            found.orderers.append(orderer)
    return found


def _orderer(
    fx: Effects,
    search: units.Search,
    patient: str,
    order_ref: str,
    problems: list[str],
) -> Orderer | None:
    order = fx.read(order_ref)
    if order is None:
        problems.append(f"basedOn {order_ref} finnes ikke")
        return None
    order_patient = _ref(order.get("subject"))
    if order_patient != patient:
        problems.append(
            f"rekvisisjonen {order_ref} gjelder {order_patient or 'ingen pasient'}, "
            f"svaret gjelder {patient}"
        )
        return None
    requester = _ref(order.get("requester"))
    if requester is None:
        problems.append(f"rekvisisjonen {order_ref} mangler rekvirent (requester)")
        return None
    assignee = None
    if requester.startswith("PractitionerRole/"):
        role = fx.read(requester)
        if role is None:
            problems.append(f"rekvirenten {requester} på {order_ref} finnes ikke")
            return None
        unit_ref = _ref(role.get("organization"))
        if unit_ref is None:
            problems.append(f"rekvirenten {requester} på {order_ref} hører ikke til en enhet")
            return None
        if units.role_active(fx.tx, requester):
            assignee = requester
    elif requester.startswith("Organization/"):
        unit_ref = requester
    else:
        problems.append(
            f"rekvirenten {requester} på {order_ref} er ingen rolle ved en enhet "
            "(PractitionerRole eller Organization)"
        )
        return None
    unit = units.unit(fx.tx, unit_ref)
    if unit is None:
        problems.append(f"rekvirentens enhet {unit_ref} finnes ikke")
        return None
    if not unit.member:
        problems.append(
            f"rekvirentens enhet {unit.name} ({unit_ref}) er ikke aktivt medlem av fellesjournalen"
        )
        return None
    if not units.staff_roles(search, unit.id):
        problems.append(f"rekvirentens enhet {unit.name} ({unit_ref}) har ingen aktive ansatte")
        return None
    priority = order.get("priority")
    return Orderer(unit_ref, assignee, order_ref, priority if isinstance(priority, str) else None)


# -- the items --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    id: str
    task: Resource

    @property
    def kind(self) -> str | None:
        return model.kind_of(self.task)

    @property
    def open(self) -> bool:
        return model.is_open(self.task)

    @property
    def owner(self) -> str | None:
        return model.owner_of(self.task)


def items_for(fx: Effects, reference: str) -> list[_Item]:
    """Every acknowledgement and unmatched item focused on the result ``reference``."""
    codes = ",".join(
        f"{model.CODE_SYSTEM}|{k}" for k in (model.RESULT_ACKNOWLEDGEMENT, model.RESULT_UNMATCHED)
    )
    found = []
    for task_id in fx.search("Task", [("focus", reference), ("code", codes)], count=1000):
        task = fx.read(f"Task/{task_id}")
        if task is not None:
            found.append(_Item(task_id, task))
    return found


def _write(fx: Effects, item: _Item) -> None:
    item.task.setdefault("meta", {}).pop("versionId", None)
    item.task["lastModified"] = fx.now_iso
    fx.update(item.task)


def _note(fx: Effects, task: Resource, text: str) -> None:
    task["note"] = [*(task.get("note") or ()), {"time": fx.now_iso, "text": text}]


def _tighten(task: Resource, priority: str, due: str) -> bool:
    """Make ``task`` at least as urgent as ``priority``/``due``; did it change?"""
    changed = False
    if _PRIORITY_RANK.get(priority, 0) > _PRIORITY_RANK.get(str(task.get("priority")), 0):
        task["priority"] = priority
        changed = True
    current = model.due_of(task)
    if current is None or due < current[:10]:
        task["restriction"] = {"period": {"end": due}}
        changed = True
    return changed


def _status_text(result: Resource) -> str:
    return str(result.get("status") or "ukjent status")


def on_result(fx: Effects, change: Change) -> None:
    """The reaction to a written DiagnosticReport or Observation (module doc)."""
    res_type = change.stored.res_type
    new, old = change.resource, change.previous
    current = new if new is not None else old
    if current is None or not (is_result(res_type, current) or (old and is_result(res_type, old))):
        return
    reference = change.reference
    if res_type == "Observation" and fx.search(
        "DiagnosticReport", [("result", reference)], count=1
    ):
        return  # acknowledged through its report
    status = new.get("status") if new is not None else None
    was_withdrawn = old is not None and old.get("status") in WITHDRAWN
    if new is None or (status in WITHDRAWN and old is not None and not was_withdrawn):
        _withdrawn(fx, reference, current, deleted=new is None)
        return
    if status == "entered-in-error" or (status in WITHDRAWN and was_withdrawn):
        return  # never a result, or still withdrawn
    if (
        res_type == "DiagnosticReport"
        and not _based_on(new)
        and fx.actor.work is not None
        and not items_for(fx, reference)
    ):
        return  # a health worker's own report: they are its responsible clinician
    found = match(fx, new)
    items = items_for(fx, reference)
    if not found.matched:
        _unmatched(fx, reference, new, found, items)
        return
    for item in items:
        if item.kind == model.RESULT_UNMATCHED and item.open:
            _resolve(fx, item, found)
    priority, due, label = urgency(fx, res_type, new, found.orderers)
    is_new = revised(old, new)
    for orderer in found.orderers:
        mine = [
            i for i in items if i.kind == model.RESULT_ACKNOWLEDGEMENT and i.owner == orderer.unit
        ]
        still_open = [i for i in mine if i.open]
        if still_open:
            if is_new:
                for item in still_open:
                    _note(fx, item.task, f"Svaret er oppdatert ({_status_text(new)}): {_what(new)}")
                    _tighten(item.task, priority, due)
                    _write(fx, item)
            continue
        if mine and not is_new:
            continue  # acknowledged, and nothing new to see
        state, item_priority, item_due, item_label = RECEIVED, priority, due, label
        if mine:
            # A correction of what the unit has already seen and may have acted on.
            state = REVISED
            item_priority = priority if _PRIORITY_RANK[priority] > 1 else "urgent"
            item_due = today(fx).isoformat()
            item_label = f"Endret prøvesvar etter kvittering ({label.lower()})"
        task = model.work_item(
            model.RESULT_ACKNOWLEDGEMENT,
            owner=orderer.unit,
            patient=found.patient,
            focus=reference,
            authored=fx.now_iso,
            due=item_due,
            state=state,
            priority=item_priority,
            description=(
                f"{item_label}: {_what(new)} ({_status_text(new)}), rekvisisjon {orderer.order}"
            ),
            assignee=orderer.assignee,
        )
        task["basedOn"] = [{"reference": orderer.order}]
        fx.create(task)


def _unmatched(
    fx: Effects, reference: str, result: Resource, found: Matching, items: list[_Item]
) -> None:
    """Put (or keep) the result in the error queue, saying what did not match."""
    problems = "; ".join(found.problems)
    description = (
        f"Prøvesvar {reference} ({_what(result)}, {_status_text(result)}) kan ikke kobles: "
        f"{problems}. Koble svaret til riktig pasient og rekvisisjon (subject, basedOn), så "
        "går det til rekvirenten."
    )
    waiting = [i for i in items if i.kind == model.RESULT_UNMATCHED and i.open]
    for item in waiting:
        if item.task.get("description") != description:
            _note(fx, item.task, f"Svaret er endret, men kan fortsatt ikke kobles: {problems}")
            item.task["description"] = description
            if found.patient and not item.task.get("for"):
                item.task["for"] = {"reference": found.patient}
            _write(fx, item)
    if waiting:
        return
    queue = fx.repo.settings.result_error_queue_unit
    fx.create(
        model.work_item(
            model.RESULT_UNMATCHED,
            owner=f"Organization/{queue}",
            patient=found.patient,
            focus=reference,
            authored=fx.now_iso,
            due=today(fx).isoformat(),
            state=UNMATCHED,
            priority=UNMATCHED_PRIORITY,
            description=description,
        )
    )


def _resolve(fx: Effects, item: _Item, found: Matching) -> None:
    """Close an unmatched item: the result now matches ``found``."""
    by = rules.actor_reference(fx.actor)
    who = by.get("display") or by.get("reference") or "ukjent"
    orders = ", ".join(o.order for o in found.orderers)
    item.task["status"] = "completed"
    model.set_state(item.task, MATCHED)
    item.task["statusReason"] = {
        "text": f"Koblet til {found.patient} og rekvisisjon {orders} av {who}"
    }
    if found.patient and not item.task.get("for"):
        item.task["for"] = {"reference": found.patient}
    _write(fx, item)


def _withdrawn(fx: Effects, reference: str, result: Resource, *, deleted: bool) -> None:
    """A result withdrawn (or deleted): open items get a note and stay open; units that
    had acknowledged it get a new item, due today."""
    how = "slettet" if deleted else f"trukket tilbake ({_status_text(result)})"
    text = f"Svaret er {how}: vurder om tiltak bygget på svaret må endres"
    items = items_for(fx, reference)
    open_owners = set()
    for item in items:
        if item.open:
            open_owners.add(item.owner)
            _note(fx, item.task, text)
            _write(fx, item)
    seen: set[str] = set()
    for item in items:
        owner = item.owner
        if item.open or item.kind != model.RESULT_ACKNOWLEDGEMENT or not owner:
            continue
        if owner in open_owners or owner in seen:
            continue
        seen.add(owner)
        assignee = model.assignee_of(item.task)
        patient = _ref(item.task.get("for"))
        task = model.work_item(
            model.RESULT_ACKNOWLEDGEMENT,
            owner=owner,
            patient=patient,
            focus=reference,
            authored=fx.now_iso,
            due=today(fx).isoformat(),
            state=WITHDRAWN_STATE,
            priority="urgent",
            description=f"Prøvesvar {how} etter kvittering: {_what(result)}. {text}.",
            assignee=assignee if units.role_active(fx.tx, assignee) else None,
        )
        if item.task.get("basedOn"):
            task["basedOn"] = item.task["basedOn"]
        fx.create(task)


# -- acknowledging ----------------------------------------------------------------------------


def acknowledge(
    repo: GuardedRepository, res_type: str, res_id: str, comment: str | None = None
) -> list[Resource]:
    """Close the open acknowledgement items of one result, as the caller, in one
    transaction; the closed Tasks.

    A health worker closes their unit's items (the unit's queue), a system client every
    open one. 404 when the caller may not read the result or has no item for it, 409
    when every such item is already closed (acknowledged)."""
    if res_type not in RESULT_TYPES:
        raise not_found("$acknowledge is for results (DiagnosticReport, Observation)")
    repo.guard("update", "Task")  # citizens (and roles that write no Task) are refused
    reference = f"{res_type}/{res_id}"
    work = repo.ctx.actor.work
    params = [
        ("focus", reference),
        ("code", f"{model.CODE_SYSTEM}|{model.RESULT_ACKNOWLEDGEMENT}"),
        ("_count", "1000"),
    ]
    if work is not None:
        params.append(("owner", f"Organization/{work.unit_id}"))
    closed: list[Resource] = []
    with repo.writing() as tx:
        repo.read(res_type, res_id, tx=tx)
        found = repo.search("Task", params, tx=tx).matches
        if not found:
            raise not_found(f"no result to acknowledge for {reference} in your unit's queue")
        tasks = [(s, dict(jsonio.loads(s.content))) for s in found if s.content]
        still_open = [(s, t) for s, t in tasks if model.is_open(t)]
        if not still_open:
            raise conflict(f"{reference} is already acknowledged")
        for stored, task in still_open:
            task["status"] = "completed"
            model.set_state(task, ACKNOWLEDGED)
            task["statusReason"] = {"text": ACKNOWLEDGE_REASON}
            if comment:
                note: Resource = {"text": comment}
                author = rules.actor_reference(repo.ctx.actor)
                if "reference" in author:
                    note["authorReference"] = author
                else:
                    note["authorString"] = author.get("display", "system")
                task["note"] = [*(task.get("note") or ()), note]
            task.setdefault("meta", {}).pop("versionId", None)
            result = repo.update("Task", stored.res_id, task, if_match=stored.version, tx=tx)
            if result.stored.content:
                closed.append(dict(jsonio.loads(result.stored.content)))
    return closed
