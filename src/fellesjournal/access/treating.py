"""The units that treat a patient: whom a citizen may write to.

A citizen's message becomes a work item in the receiving unit's queue, and an open work
item is a care relation of its unit (``relation_rules.py``). So a message to any unit
would open the record to it: a citizen writes only to the units that already treat them
(:func:`treating_units`), found in their record through the reference index:

* the service provider of their Encounters and the managing organisation of their
  EpisodeOfCare;
* the participants of their CareTeams and the actors of their Appointments;
* the performer and requester of their referrals (ServiceRequest);
* their fastlege (``Patient.generalPractitioner``);
* a unit that has written to them (``Communication.sender``).

A PractitionerRole, Location or HealthcareService counts through its organisation.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from fellesjournal.store import schema
from fellesjournal.store.sql import SqlTransaction

REF = schema.idx_reference
RES = schema.resources

#: (resource type, reference search parameter) pairs that name a treating unit.
PARAMS: Final = (
    ("Encounter", "service-provider"),
    ("EpisodeOfCare", "organization"),
    ("CareTeam", "participant"),
    ("Appointment", "actor"),
    ("ServiceRequest", "performer"),
    ("ServiceRequest", "requester"),
    ("Patient", "general-practitioner"),
    ("Communication", "sender"),
)
#: Types that count through their organisation (search parameter ``organization``).
THROUGH: Final = ("PractitionerRole", "Location", "HealthcareService")


def treating_units(tx: SqlTransaction, patient_id: str) -> set[str]:
    """``Organization/id`` of every unit that treats ``Patient/{patient_id}``."""
    pairs = sa.or_(*[sa.and_(REF.c.res_type == t, REF.c.param == p) for t, p in PARAMS])
    rows = tx.execute(
        sa.select(REF.c.target_type, REF.c.target_id)
        .join(RES, sa.and_(RES.c.res_type == REF.c.res_type, RES.c.res_id == REF.c.res_id))
        .where(RES.c.patient_id == patient_id, RES.c.deleted.is_(False), pairs)
    ).all()
    units = {f"Organization/{i}" for t, i in rows if t == "Organization" and i}
    via = {(str(t), str(i)) for t, i in rows if t in THROUGH and i}
    if via:
        owners = tx.execute(
            sa.select(REF.c.target_id).where(
                sa.tuple_(REF.c.res_type, REF.c.res_id).in_(sorted(via)),
                REF.c.param == "organization",
                REF.c.target_type == "Organization",
            )
        ).scalars()
        units |= {f"Organization/{o}" for o in owners if o}
    return units
