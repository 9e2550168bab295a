"""Appointments cancelled by the patient: the unit must know (nothing lost).

A citizen (or their proxy) cancels a booked appointment in the portal
(``access/citizen_writes.py`` allows exactly that change). The unit that holds the
appointment gets an ``appointment-request`` work item, due the next working day, so
that the slot is filled and a new time offered if the patient wants one. Asking for a
new time is a message (``timeforesporsel``), delivered by the outbox as the same kind
of work item (``delivery.TASK_KIND``).

The unit is the first participant that names one: a PractitionerRole's organization,
an Organization, a Location's managing organization or a HealthcareService's provider.
An appointment without one goes to the monitored error queue of unmatched work
(``FELLESJOURNAL_RESULT_ERROR_QUEUE_UNIT``), never nowhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from fellesjournal.norway.workdays import add_working_days
from fellesjournal.workflows import model, units

if TYPE_CHECKING:
    from fellesjournal.workflows.reactions import Change, Effects

Resource = dict[str, Any]

#: Cancelled from these statuses is a cancellation the unit must act on.
BOOKED: Final = frozenset({"proposed", "pending", "booked"})
_OWNER_FIELD: Final = {
    "Location": "managingOrganization",
    "HealthcareService": "providedBy",
}


def unit_of_appointment(fx: Effects, appointment: Resource) -> str | None:
    """The unit (``Organization/id``) that holds ``appointment``, or None."""
    for participant in appointment.get("participant") or ():
        ref = str((participant.get("actor") or {}).get("reference") or "")
        kind = ref.split("/", 1)[0]
        if kind in ("PractitionerRole", "Organization"):
            unit = units.unit_of_role(fx.tx, ref)
            if unit:
                return unit
        elif kind in _OWNER_FIELD:
            found = fx.read(ref) or {}
            owner = str((found.get(_OWNER_FIELD[kind]) or {}).get("reference") or "")
            if owner.startswith("Organization/"):
                return owner
    return None


def on_appointment(fx: Effects, change: Change) -> None:
    """A patient's cancellation of a booked appointment: a work item for its unit."""
    new, old = change.resource, change.previous
    if new is None or old is None or fx.actor.kind != "patient":
        return
    if new.get("status") != "cancelled" or old.get("status") not in BOOKED:
        return
    patient = next(
        (
            ref
            for p in new.get("participant") or ()
            if (ref := str((p.get("actor") or {}).get("reference") or "")).startswith("Patient/")
        ),
        None,
    )
    owner = unit_of_appointment(fx, new) or _error_queue(fx)
    start = str(new.get("start") or "")[:16].replace("T", " kl. ")
    when = f" {start}" if start else ""
    due = add_working_days(fx.now.date(), 1).isoformat()
    fx.create(
        model.work_item(
            model.APPOINTMENT_REQUEST,
            owner=owner,
            patient=patient,
            focus=change.reference,
            authored=fx.now_iso,
            due=due,
            description=f"Pasienten har avbestilt timen{when}. Fyll timen og tilby ny ved behov.",
        )
    )


def _error_queue(fx: Effects) -> str:
    unit = fx.repo.settings.result_error_queue_unit
    return f"Organization/{unit}"
