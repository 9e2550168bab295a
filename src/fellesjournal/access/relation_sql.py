"""The care-relation rules as SQL over the search index (built once, run with parameters).

:mod:`fellesjournal.access.relations` is the API; this module builds its statements from
the rules (:mod:`fellesjournal.access.relation_rules`). Everything that varies per call
(the work context, the patient, the time) is a named bind parameter (:data:`PARAMS`), so a
statement is built once per :class:`RelationSettings` value and compiled once per dialect:
building one costs 10-15 ms of Python, running it a fraction of a millisecond.

Two shapes, with different driving indexes:

* *set* arms (:func:`unit_arms`) start from the reference index at one party
  (``ix_idx_reference_lookup``: the unit's Encounters, the Patients listing the unit as
  GP ...), so their cost grows with the unit's own resources, never with the database;
* *patient* arms (:func:`patient_arm`) start from the patient's compartment
  (``ix_resources_patient``: a few dozen rows) and probe the index tables per resource.

Only current, non-deleted resources count: ``resources.deleted`` is checked, and the
index tables hold rows of current versions only (``store/sql.py`` deletes a resource's
rows on every write and writes none for a deletion). The GP rules read the Patient's id
straight from the reference index for that reason.

SQLite plans without statistics (the store never runs ANALYZE), so the statements are
shaped for its rules of thumb: every probe of a lookup index fixes all its leading
columns, and the probes that need an owner index (``res_type, res_id``) name it
(:func:`fellesjournal.store.hints.by_owner`), or SQLite would prefer a covering index
on ``res_type`` alone and walk every row of the type. The tests check the plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from fellesjournal.access.relation_rules import (
    AROUND,
    ENDED,
    MEMBER_TYPES,
    PRACTITIONER,
    ROLE,
    UNIT,
    UNIT_MEMBERS,
    RelationSettings,
    Rule,
)
from fellesjournal.search.normalize import DATE_MAX
from fellesjournal.store import schema
from fellesjournal.store.hints import by_owner

R = schema.resources
REF = schema.idx_reference
TOK = schema.idx_token
D = schema.idx_date

Clause = ColumnElement[bool]

# -- parameters ------------------------------------------------------------------------------

#: The bind parameters every statement takes, prefixed so that they cannot collide with
#: the parameters of a search the set is embedded in.
PATIENT: Final = sa.bindparam("rel_patient_id", type_=sa.String())
PRACTITIONER_ID: Final = sa.bindparam("rel_practitioner_id", type_=sa.String())
ROLE_ID: Final = sa.bindparam("rel_role_id", type_=sa.String())
UNIT_ID: Final = sa.bindparam("rel_unit_id", type_=sa.String())
ENDED_AFTER: Final = sa.bindparam("rel_ended_after", type_=sa.BigInteger())
AROUND_FROM: Final = sa.bindparam("rel_around_from", type_=sa.BigInteger())
AROUND_TO: Final = sa.bindparam("rel_around_to", type_=sa.BigInteger())
PARAMS: Final = (PATIENT, PRACTITIONER_ID, ROLE_ID, UNIT_ID, ENDED_AFTER, AROUND_FROM, AROUND_TO)


def const(value: str | int) -> Any:
    """A constant of the rules, written into the SQL text rather than bound.

    SQLAlchemy binds every literal by default; PostgreSQL then plans a prepared statement
    (psycopg prepares from the fifth execution) for *unknown* resource types, parameters
    and codes, and the generic plan it keeps walked all 24,000 finished Encounters for
    each probe (measured). Only the work context, patient and times stay parameters.
    Rendered when the statement is compiled (once), as a standard SQL literal.
    """
    if isinstance(value, int):
        return sa.literal_column(str(int(value)), sa.BigInteger())
    return sa.literal_column("'" + value.replace("'", "''") + "'", sa.String())


def consts(values: frozenset[str]) -> list[Any]:
    return [const(v) for v in sorted(values)]


def probe(stmt: sa.Select[Any]) -> Clause:
    """``EXISTS (stmt)``, evaluated per row of the query around it, through an index.

    ``OFFSET 0`` keeps PostgreSQL from turning the EXISTS into a join it plans by its
    estimates: for ``target_id = $unit`` it guesses one row and would hash a whole unit's
    history into every check (measured: 15 ms instead of 1). SQLite runs correlated
    EXISTS per row anyway; the clause costs it nothing measurable.
    """
    return sa.exists(stmt.offset(const(0)))


# -- parties ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    """A reference that stands for the work context: ``target_type`` with the id bound to
    the parameter named ``bound``, or with ``members_of`` every ``target_type`` whose
    ``organization`` is the unit (``bound`` is then the unit's parameter)."""

    target_type: str
    bound: str
    members_of: bool = False

    @property
    def target_id(self) -> sa.BindParameter[str]:
        return _ID_PARAMS[self.bound]


_ID_PARAMS: Final = {p.key: p for p in (PRACTITIONER_ID, ROLE_ID, UNIT_ID)}


def parties(rule: Rule, settings: RelationSettings) -> list[Party]:
    """The parties that stand for the work context under ``rule``."""
    found: list[Party] = []
    if PRACTITIONER in rule.parties:
        found.append(Party("Practitioner", PRACTITIONER_ID.key))
    if ROLE in rule.parties:
        found.append(Party("PractitionerRole", ROLE_ID.key))
    if UNIT in rule.parties:
        found.append(Party("Organization", UNIT_ID.key))
    if UNIT_MEMBERS in rule.parties and settings.unit_members:
        found.extend(Party(t, UNIT_ID.key, members_of=True) for t in MEMBER_TYPES)
    return found


def points_at(ref: Any, party: Party) -> Clause:
    """The reference row (an alias of idx_reference) points at ``party``.

    Both target columns are fixed (the id may be an IN list of the unit's members), so
    with ``res_type`` and ``param`` this is an exact probe of ``ix_idx_reference_lookup``.
    """
    if party.members_of:
        m = REF.alias("member")
        members = sa.select(m.c.res_id).where(
            m.c.res_type == const(party.target_type),
            m.c.param == const("organization"),
            m.c.target_id == party.target_id,
            m.c.target_type == const("Organization"),
        )
        target: Clause = ref.c.target_id.in_(members)
    else:
        target = ref.c.target_id == party.target_id
    return sa.and_(ref.c.target_type == const(party.target_type), target)


# -- arms ------------------------------------------------------------------------------------


def patient_arm(rule: Rule, settings: RelationSettings, *columns: Any) -> sa.Select[Any]:
    """The patient's (:data:`PATIENT`) current resources that grant ``rule``'s relation.

    Driven by ``ix_resources_patient`` (the primary key for the Patient itself); the
    party, status and date checks are EXISTS probes of one resource each.
    """
    if rule.res_type == "Patient":
        own = [R.c.res_type == const("Patient"), R.c.res_id == PATIENT]
    else:
        own = [R.c.patient_id == PATIENT, R.c.res_type == const(rule.res_type)]
    return sa.select(*columns).where(
        *own,
        R.c.deleted.is_(False),
        _refers(rule, settings, R.c.res_id),
        *filters(rule, R.c.res_id),
    )


def unit_arms(group: tuple[Rule, ...], settings: RelationSettings) -> list[sa.Select[Any]]:
    """``patient_id`` of the rules sharing one reference parameter, from the parties out.

    One arm per party, driven by ``ix_idx_reference_lookup`` at that party, then (except
    for Patients) the primary key of each resource found. The date and status checks are
    EXISTS probes on the reference row's ``res_id``, so SQLite runs them before reading
    the resource. Rules of a group sharing a party share its walk; a rule marked
    ``by_status`` gets an arm of its own (:func:`_status_arm`).
    """
    by_party: dict[Party, list[Rule]] = {}
    arms = []
    for rule in group:
        if rule.by_status:
            arms.append(_status_arm(rule, settings))
            continue
        for party in parties(rule, settings):
            by_party.setdefault(party, []).append(rule)
    res_type, param = group[0].res_type, group[0].param
    for party, party_rules in by_party.items():
        ref = REF.alias("party")
        where = [
            ref.c.res_type == const(res_type),
            ref.c.param == const(param),
            points_at(ref, party),
        ]
        checks = [filters(rule, ref.c.res_id) for rule in party_rules]
        if all(checks):  # a rule without checks (the GP rules) needs nothing more
            where.append(sa.or_(*(sa.and_(*c) for c in checks)))
        if res_type == "Patient":
            arm = sa.select(ref.c.res_id.label("patient_id")).where(*where)
        else:
            on = sa.and_(R.c.res_type == const(res_type), R.c.res_id == ref.c.res_id)
            arm = (
                sa.select(R.c.patient_id)
                .select_from(ref.join(R, on))
                .where(*where, R.c.deleted.is_(False), R.c.patient_id.is_not(None))
            )
        arms.append(arm)
    return arms


def _status_arm(rule: Rule, settings: RelationSettings) -> sa.Select[Any]:
    """``patient_id`` of ``rule``, walking the resources in its statuses (region-wide).

    Driven by ``ix_idx_token_lookup`` with every column fixed but ``res_id``; the party
    and date checks are exact probes per resource.
    """
    if not rule.statuses:  # configured away: the rule grants nothing
        return sa.select(R.c.patient_id).where(sa.false())
    tok = TOK.alias("by_status")
    on = sa.and_(R.c.res_type == const(rule.res_type), R.c.res_id == tok.c.res_id)
    return (
        sa.select(R.c.patient_id)
        .select_from(tok.join(R, on))
        .where(
            tok.c.res_type == const(rule.res_type),
            tok.c.param == const("status"),
            tok.c.code.in_(consts(rule.statuses)),
            tok.c.system.is_(None),
            _refers(rule, settings, tok.c.res_id),
            *filters(rule, tok.c.res_id, status=False),
            R.c.deleted.is_(False),
            R.c.patient_id.is_not(None),
        )
    )


def _refers(rule: Rule, settings: RelationSettings, id_col: Any) -> Clause:
    """The resource ``id_col`` points at a party of ``rule`` (ORed exact probes)."""
    refers = []
    for party in parties(rule, settings):
        ref = by_owner(REF, "party")
        refers.append(
            probe(
                sa.select(ref.c.res_id).where(
                    ref.c.res_type == const(rule.res_type),
                    ref.c.param == const(rule.param),
                    ref.c.res_id == id_col,
                    points_at(ref, party),
                )
            )
        )
    return sa.or_(*refers)


def by_parameter(rules: tuple[Rule, ...]) -> list[tuple[Rule, ...]]:
    """The rules grouped by (resource type, reference parameter), in rule order."""
    groups: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        groups.setdefault((rule.res_type, rule.param), []).append(rule)
    return [tuple(g) for g in groups.values()]


# -- what relations_for reports ----------------------------------------------------------------


def matched_party(rule: Rule, settings: RelationSettings) -> Any:
    """Scalar subquery: the first reference of the resource in ``R`` that is a party."""
    ref = by_owner(REF, "via")
    return (
        sa.select(ref.c.target_type + const("/") + ref.c.target_id)
        .where(
            ref.c.res_type == const(rule.res_type),
            ref.c.res_id == R.c.res_id,
            ref.c.param == const(rule.param),
            sa.or_(*(points_at(ref, p) for p in parties(rule, settings))),
        )
        .order_by(ref.c.target_type, ref.c.target_id)
        .limit(1)
        .scalar_subquery()
    )


def status_of(rule: Rule) -> Any:
    """Scalar subquery: the ``status`` of the resource in ``R`` (None for Patient).

    Only the rule's statuses are looked for (its filter required one of them), so the
    probe fixes every column of ``ix_idx_token_lookup``.
    """
    if rule.statuses is None:
        return sa.null()
    tok = TOK.alias("st")
    return (
        sa.select(tok.c.code)
        .where(
            tok.c.res_type == const(rule.res_type),
            tok.c.param == const("status"),
            tok.c.code.in_(consts(rule.statuses)),
            tok.c.system.is_(None),
            tok.c.res_id == R.c.res_id,
        )
        .order_by(tok.c.code)
        .limit(1)
        .scalar_subquery()
    )


# -- status, category and time ---------------------------------------------------------------


def filters(rule: Rule, id_col: Any, *, status: bool = True) -> list[Clause]:
    """The time-window, category and status checks of ``rule`` on the resource ``id_col``.

    In that order: the date check rejects most of a unit's history at once. ``status``
    False leaves the status check out (for a walk over the statuses themselves).
    """
    out: list[Clause] = []
    if rule.window == ENDED:
        # A period's high is its end (exclusive); a missing end is DATE_MAX, and then the
        # start must be recent: a finished Encounter without an end would otherwise
        # grant access for ever.
        d = by_owner(D, "period")
        out.append(
            _has_date(
                d,
                rule.res_type,
                id_col,
                rule.date_param,
                d.c.high > ENDED_AFTER,
                sa.or_(d.c.high < const(DATE_MAX), d.c.low > ENDED_AFTER),
            )
        )
    elif rule.window == AROUND:
        d = by_owner(D, "period")
        out.append(
            _has_date(
                d,
                rule.res_type,
                id_col,
                rule.date_param,
                d.c.high > AROUND_FROM,
                d.c.low <= AROUND_TO,
            )
        )
    if rule.categories is not None:
        out.append(_has_code(rule.res_type, "category", rule.categories, id_col))
    if status and rule.statuses is not None:
        out.append(_has_code(rule.res_type, "status", rule.statuses, id_col, codes_only=True))
    return out


def _has_code(
    res_type: str, param: str, codes: frozenset[str], id_col: Any, *, codes_only: bool = False
) -> Clause:
    """EXISTS a token row of ``param`` with one of ``codes``.

    ``status`` is a FHIR ``code``, indexed without a system: with ``codes_only`` the probe
    fixes ``system IS NULL`` and so every column of ``ix_idx_token_lookup``.
    """
    if not codes:
        return sa.false()
    tok = TOK.alias(f"tok_{param}")
    conditions = [
        tok.c.res_type == const(res_type),
        tok.c.param == const(param),
        tok.c.code.in_(consts(codes)),
        tok.c.res_id == id_col,
    ]
    if codes_only:
        conditions.append(tok.c.system.is_(None))
    return probe(sa.select(tok.c.res_id).where(*conditions))


def _has_date(d: Any, res_type: str, id_col: Any, param: str, *conditions: Clause) -> Clause:
    """EXISTS a ``param`` date row of the resource meeting ``conditions`` (on ``d``).

    Probed through ``ix_idx_date_owner`` (the resource's few dates): the lookup index
    continues with ``low``, which a window on ``high`` cannot bound.
    """
    return probe(
        sa.select(d.c.res_id).where(
            d.c.res_type == const(res_type),
            d.c.res_id == id_col,
            d.c.param == const(param),
            *conditions,
        )
    )
