"""The care-relation rules as data: which resource, pointing at whom, in which state.

A health worker may see a patient's record while their *unit* has a care relation
(behandlerrelasjon, pasientjournalloven § 19 "tjenstlig behov") with the patient. Each
:class:`Rule` is one kind of relation, modelled on the automatic decision templates of DIPS
(domain.md §3.2): BEHANDLER/BELEGG (an open or recent Encounter at the unit), care series
(an EpisodeOfCare the unit manages), PLANKONT/PLANOPP (an Appointment), HENVISNING (a
referral addressed to the unit), the fastlege relation, and PRIMKONT/PASANSV roles (a
CareTeam). A rule says which resource type and reference search parameter carry the
relation, which references stand for the work context (the *parties*), which statuses
count, and which time window applies. :mod:`fellesjournal.access.relations` turns the
rules into SQL over the search index.

Choices (the lead's policy may change them through :class:`RelationSettings`):

* Organisations match exactly. A relation held by a parent (a clinic, a health trust, a
  municipality) does not reach the workers of its child units, and a child unit's relation
  does not reach the parent: a referral to "St. Olavs hospital" must not open the record to
  every St. Olavs employee (Datatilsynet's criticism of Helseplattformen, domain.md §2).
* Unit members stand for the unit (``unit_members``, on by default): a PractitionerRole,
  HealthcareService or Location whose ``organization`` is the unit counts as the unit, so
  an Appointment with a colleague at the outpatient clinic, or a referral to the unit's
  HealthcareService, gives the whole unit (the secretary preparing the visit) access.
* Personal parties (the Practitioner and their own PractitionerRole) count for
  Appointments, referrals, CareTeams and the fastlege rule, whichever unit the worker acts
  in; Encounters and EpisodesOfCare are relations of the unit only.
* A finished Encounter counts until ``encounter_days`` after its period's end; one
  without an end counts from its start (else a missing end would grant for ever).
* An Appointment counts only with a ``start`` in the window: a proposal without a time is
  not yet a relation (a waiting patient has a referral or an EpisodeOfCare).
* Every ServiceRequest addressed to the parties is a referral unless
  ``referral_categories`` narrows it (lab orders are ServiceRequests too).
* Statuses are matched as the ``status`` token without a system (a FHIR ``code``).
* An open work item (a Task the unit owns: a referral to assess, a message to read, a
  result to acknowledge) is a relation of the unit: work in its queue it could not open
  would be lost work. A closed item (its ``executionPeriod`` ends when it is closed)
  counts as long as a finished Encounter does, so the unit can follow up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

DAY_US: Final = 86_400_000_000

#: Relation kinds, as the audit basis and ``$access-explain`` name them.
ENCOUNTER_IN_PROGRESS: Final = "encounter-in-progress"
ENCOUNTER_RECENT: Final = "encounter-recent"
EPISODE_OF_CARE: Final = "episode-of-care"
APPOINTMENT: Final = "appointment"
REFERRAL: Final = "referral"
FASTLEGE: Final = "fastlege"
FASTLEGEKONTOR: Final = "fastlegekontor"
CARE_TEAM: Final = "care-team"
WORK_ITEM: Final = "work-item"
WORK_ITEM_RECENT: Final = "work-item-recent"

KINDS: Final = (
    FASTLEGE,
    FASTLEGEKONTOR,
    ENCOUNTER_IN_PROGRESS,
    ENCOUNTER_RECENT,
    EPISODE_OF_CARE,
    REFERRAL,
    APPOINTMENT,
    CARE_TEAM,
    WORK_ITEM,
    WORK_ITEM_RECENT,
)

#: Parties: the references that stand for the work context.
PRACTITIONER: Final = "practitioner"  #: ``Practitioner/{practitioner_id}``
ROLE: Final = "role"  #: ``PractitionerRole/{role_id}``
UNIT: Final = "unit"  #: ``Organization/{unit_id}``
#: ``PractitionerRole``/``HealthcareService``/``Location`` whose ``organization`` is the
#: unit (only with :attr:`RelationSettings.unit_members`).
UNIT_MEMBERS: Final = "unit-members"
MEMBER_TYPES: Final = ("PractitionerRole", "HealthcareService", "Location")

PERSONAL: Final = frozenset({PRACTITIONER, ROLE})
UNIT_ONLY: Final = frozenset({UNIT})
UNIT_WIDE: Final = frozenset({UNIT, UNIT_MEMBERS})

#: Time windows: ``ended`` (the ``date`` period ended at most ``encounter_days`` ago),
#: ``around`` (the ``date`` lies within the appointment window around now).
ENDED: Final = "ended"
AROUND: Final = "around"


@dataclass(frozen=True, slots=True)
class RelationSettings:
    """How long and in which states a relation lasts. Hashable: rules are cached per value."""

    #: A finished Encounter still gives access this many days after its period ended.
    encounter_days: int = 30
    #: An Appointment counts if it started at most this many days before now ...
    appointment_days_before: int = 30
    #: ... or starts at most this many days after now (a visit booked two weeks ahead).
    appointment_days_after: int = 30
    #: PractitionerRoles, HealthcareServices and Locations of the unit stand for the unit.
    unit_members: bool = True
    encounter_open_statuses: frozenset[str] = frozenset(
        {"in-progress", "arrived", "triaged", "onleave"}
    )
    episode_statuses: frozenset[str] = frozenset({"active", "waitlist", "planned"})
    appointment_statuses: frozenset[str] = frozenset(
        {"booked", "arrived", "checked-in", "pending", "proposed"}
    )
    referral_statuses: frozenset[str] = frozenset({"active", "draft", "on-hold"})
    #: ServiceRequest ``category`` codes that make a referral; None: every category.
    referral_categories: frozenset[str] | None = None
    care_team_statuses: frozenset[str] = frozenset({"active"})
    #: Task statuses of open work items (``workflows/model.py`` ``OPEN``).
    work_item_statuses: frozenset[str] = frozenset(
        {"draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold"}
    )

    def __post_init__(self) -> None:
        for name in ("encounter_days", "appointment_days_before", "appointment_days_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of care relation (see the module docstring)."""

    kind: str
    res_type: str
    param: str  #: the reference search parameter pointing at the parties
    parties: frozenset[str]
    statuses: frozenset[str] | None = None  #: None: any status (Patient has none)
    window: str | None = None  #: :data:`ENDED`, :data:`AROUND` or None
    categories: frozenset[str] | None = None  #: ``category`` codes, None: any
    #: For the set of patients, walk the resources in these statuses (all of them, in the
    #: region) rather than the party's resources: right for rules whose statuses are rare
    #: and short-lived (open Encounters) while the party's history grows for ever.
    by_status: bool = False
    #: The date search parameter the time window reads (a Task's is ``period``).
    date_param: str = "date"
    #: English, for ``$access-explain`` and the audit basis: ``{via}`` is the matching
    #: reference (``Organization/x``), ``{status}`` the resource's status.
    detail: str = ""


@lru_cache(maxsize=32)
def rules(settings: RelationSettings) -> tuple[Rule, ...]:
    """Every rule under ``settings``, cheapest to check first (the order of :data:`KINDS`)."""
    wide = UNIT_WIDE if settings.unit_members else UNIT_ONLY
    anyone = PERSONAL | wide
    return (
        Rule(
            FASTLEGE,
            "Patient",
            "general-practitioner",
            PERSONAL,
            detail="{via} is the patient's GP (fastlege)",
        ),
        Rule(
            FASTLEGEKONTOR,
            "Patient",
            "general-practitioner",
            wide,
            detail="the patient's GP is {via} at the unit (fastlegekontor)",
        ),
        Rule(
            ENCOUNTER_IN_PROGRESS,
            "Encounter",
            "service-provider",
            UNIT_ONLY,
            settings.encounter_open_statuses,
            by_status=True,
            detail="Encounter at {via} is {status}",
        ),
        Rule(
            ENCOUNTER_RECENT,
            "Encounter",
            "service-provider",
            UNIT_ONLY,
            frozenset({"finished"}),
            ENDED,
            detail=f"Encounter at {{via}} finished within the last {settings.encounter_days} days",
        ),
        Rule(
            EPISODE_OF_CARE,
            "EpisodeOfCare",
            "organization",
            UNIT_ONLY,
            settings.episode_statuses,
            detail="EpisodeOfCare managed by {via} is {status}",
        ),
        Rule(
            REFERRAL,
            "ServiceRequest",
            "performer",
            anyone,
            settings.referral_statuses,
            categories=settings.referral_categories,
            detail="referral (ServiceRequest) to {via} is {status}",
        ),
        Rule(
            APPOINTMENT,
            "Appointment",
            "actor",
            anyone,
            settings.appointment_statuses,
            AROUND,
            detail=(
                "Appointment with {via} is {status}, within "
                f"{settings.appointment_days_before} days before to "
                f"{settings.appointment_days_after} days after now"
            ),
        ),
        Rule(
            CARE_TEAM,
            "CareTeam",
            "participant",
            anyone,
            settings.care_team_statuses,
            detail="CareTeam with {via} as participant is {status}",
        ),
        Rule(
            WORK_ITEM,
            "Task",
            "owner",
            wide,
            settings.work_item_statuses,
            detail="work item (Task) owned by {via} is {status}",
        ),
        Rule(
            WORK_ITEM_RECENT,
            "Task",
            "owner",
            wide,
            frozenset({"completed", "cancelled", "failed", "rejected"}),
            ENDED,
            date_param="period",
            detail=(
                f"work item (Task) owned by {{via}} was closed ({{status}}) within the last "
                f"{settings.encounter_days} days"
            ),
        ),
    )
