"""Care relations: which patients a work context may see now, and why.

A health worker may read a patient's record while their unit has a care relation with
the patient (tjenstlig behov; the rules and the choices behind them are in
:mod:`fellesjournal.access.relation_rules`). This module answers three questions, in the
caller's transaction, read-only:

* :func:`accessible_patients`: the *set* of patient ids, as a SELECT to filter searches
  in SQL (``resources.patient_id IN (...)``) and to count (:func:`accessible_patients_query`
  is the same statement unbound, to run with :func:`relation_params`);
* :func:`has_relation`: does the context have any relation with this patient (the check
  behind a read by id);
* :func:`relations_for`: every relation with this patient, with the resource that grants
  it, for ``$access-explain`` and the audit basis.

``now_us`` is the decision time in microseconds since the epoch (UTC), the unit of
``idx_date`` (``int(time.time() * 1_000_000)``). The statements are built once per
:class:`RelationSettings` value (:mod:`fellesjournal.access.relation_sql`) and take the
context, patient and time as bind parameters, so each call is one cached statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql import visitors

from fellesjournal.access import relation_sql as q
from fellesjournal.access.context import WorkContext
from fellesjournal.access.relation_rules import DAY_US, KINDS, RelationSettings, rules
from fellesjournal.store import schema
from fellesjournal.store.hints import by_owner
from fellesjournal.store.sql import SqlTransaction

__all__ = [
    "KINDS",
    "Relation",
    "RelationSettings",
    "accessible_patients",
    "accessible_patients_query",
    "first_relation",
    "has_relation",
    "relation_params",
    "relations_for",
    "row_relation",
]


@dataclass(frozen=True, slots=True)
class Relation:
    """One care relation between the work context and a patient.

    ``kind`` is one of :data:`~fellesjournal.access.relation_rules.KINDS`, ``reference``
    the resource that grants it (``Encounter/123``; ``Patient/{id}`` for the fastlege
    rules), ``detail`` one English sentence for ``$access-explain`` and the audit basis.
    """

    kind: str
    reference: str
    detail: str


_DEFAULT = RelationSettings()


def relation_params(
    ctx: WorkContext,
    now_us: int,
    settings: RelationSettings | None = None,
    patient_id: str | None = None,
) -> dict[str, Any]:
    """The bind parameter values of the statements for ``ctx`` at ``now_us``."""
    s = settings or _DEFAULT
    return {
        q.PATIENT.key: patient_id,
        q.PRACTITIONER_ID.key: ctx.practitioner_id,
        q.ROLE_ID.key: ctx.role_id,
        q.UNIT_ID.key: ctx.unit_id,
        q.ENDED_AFTER.key: now_us - s.encounter_days * DAY_US,
        q.AROUND_FROM.key: now_us - s.appointment_days_before * DAY_US,
        q.AROUND_TO.key: now_us + s.appointment_days_after * DAY_US,
    }


def accessible_patients_query(
    settings: RelationSettings | None = None, *, one_patient: bool = False
) -> sa.Select[tuple[str]]:
    """:func:`accessible_patients` with its parameters unbound: one cached object.

    Execute it (or a statement embedding it) with :func:`relation_params`; this saves
    the clone and the cache-key walk that binding the values costs (about 0.8 ms).
    """
    s = settings or _DEFAULT
    return _patient_set(s) if one_patient else _unit_set(s)


def accessible_patients(
    ctx: WorkContext,
    now_us: int,
    settings: RelationSettings | None = None,
    *,
    patient_id: str | None = None,
) -> sa.Select[tuple[str]]:
    """SELECT of the ids of patients ``ctx`` has a care relation with at ``now_us``.

    One column, ``patient_id``, without duplicates, with the values bound (embed it as a
    subquery: ``R.c.patient_id.in_(accessible_patients(...))``). With ``patient_id`` the
    set is that patient or nothing, and the statement starts from the patient's
    compartment: use that shape for a single-patient check. The unrestricted set costs
    in proportion to the unit's own resources (its Encounters, its listed patients).
    """
    s = settings or _DEFAULT
    template = accessible_patients_query(s, one_patient=patient_id is not None)
    return template.params(relation_params(ctx, now_us, s, patient_id))


def has_relation(
    tx: SqlTransaction,
    ctx: WorkContext,
    patient_id: str,
    now_us: int,
    settings: RelationSettings | None = None,
) -> bool:
    """Whether ``ctx`` has any care relation with ``patient_id`` at ``now_us``.

    One statement; the rules are tried cheapest first and the first match ends it.
    """
    s = settings or _DEFAULT
    params = relation_params(ctx, now_us, s, patient_id)
    return bool(tx.execute(_any_relation(s), params).scalar())


def row_relation(
    ctx: WorkContext,
    now_us: int,
    patient_col: Any,
    settings: RelationSettings | None = None,
) -> Any:
    """SQL: ``ctx`` has a care relation with the patient in ``patient_col`` (a column of
    the query this clause is embedded in), probed per row.

    The single-patient statements (:func:`has_relation`) with the patient taken from the
    outer row instead of a parameter: cheap when a search narrows to few rows (a
    fødselsnummer, one patient's Observations), where :func:`accessible_patients` would
    build the unit's whole set first. The probes' own ``resources`` rows are aliased so
    that they do not correlate with the outer query's.
    """
    s = settings or _DEFAULT
    template = _row_template(s)
    params = relation_params(ctx, now_us, s, None)
    del params[q.PATIENT.key]
    bound: sa.ColumnElement[Any] = template.params(params)

    def outer_patient(element: Any) -> Any:
        return patient_col if getattr(element, "key", None) == q.PATIENT.key else None

    opts: dict[str, Any] = {}
    replaced = visitors.replacement_traverse(bound, opts, outer_patient)  # type: ignore[call-overload]
    return cast(Any, replaced)


def first_relation(
    tx: SqlTransaction,
    ctx: WorkContext,
    patient_id: str,
    now_us: int,
    settings: RelationSettings | None = None,
) -> tuple[str, str] | None:
    """The kind of the first care relation ``ctx`` has with ``patient_id`` (rules in
    :data:`~fellesjournal.access.relation_rules.KINDS` order) and the resource that
    grants it (``Encounter/12``), or None.

    As cheap as :func:`has_relation` (the first match ends it); it is the audit basis
    of a read.
    """
    s = settings or _DEFAULT
    params = relation_params(ctx, now_us, s, patient_id)
    found = tx.execute(_first_relation(s), params).scalar()
    if found is None:
        return None
    kind, _, reference = str(found).partition("|")
    return kind, reference


def relations_for(
    tx: SqlTransaction,
    ctx: WorkContext,
    patient_id: str,
    now_us: int,
    settings: RelationSettings | None = None,
) -> list[Relation]:
    """Every care relation ``ctx`` has with ``patient_id`` at ``now_us``.

    In the order of :data:`~fellesjournal.access.relation_rules.KINDS` (the fastlege
    first), then by reference. Empty when there is none: the caller's default deny.
    """
    s = settings or _DEFAULT
    params = relation_params(ctx, now_us, s, patient_id)
    by_kind = {rule.kind: rule for rule in rules(s)}
    found = [
        Relation(
            kind,
            f"{res_type}/{res_id}",
            by_kind[kind].detail.format(via=via, status=status or "without a status"),
        )
        for kind, res_type, res_id, via, status in tx.execute(_all_relations(s), params)
    ]
    order = {kind: i for i, kind in enumerate(KINDS)}
    found.sort(key=lambda r: (order.get(r.kind, len(order)), r.reference))
    return found


# -- the statements, built once per settings ---------------------------------------------------


@lru_cache(maxsize=16)
def _unit_set(settings: RelationSettings) -> sa.Select[tuple[str]]:
    arms = [
        arm for group in q.by_parameter(rules(settings)) for arm in q.unit_arms(group, settings)
    ]
    union = sa.union(*arms).subquery("accessible")
    return sa.select(union.c.patient_id)


@lru_cache(maxsize=16)
def _patient_set(settings: RelationSettings) -> sa.Select[tuple[str]]:
    arms = [q.patient_arm(rule, settings, q.R.c.patient_id) for rule in rules(settings)]
    union = sa.union(*arms).subquery("accessible")
    return sa.select(union.c.patient_id)


@lru_cache(maxsize=16)
def _any_relation(settings: RelationSettings) -> sa.Select[tuple[bool]]:
    tests = [q.probe(q.patient_arm(rule, settings, q.const(1))) for rule in rules(settings)]
    return sa.select(sa.or_(*tests))


@lru_cache(maxsize=16)
def _row_template(settings: RelationSettings) -> sa.ColumnElement[Any]:
    inner = q.R.alias("relation_row")
    probes = [
        q.probe(sql_util.ClauseAdapter(inner).traverse(q.patient_arm(rule, settings, q.const(1))))
        for rule in rules(settings)
    ]
    return sa.or_(*probes)


@lru_cache(maxsize=16)
def _first_relation(settings: RelationSettings) -> sa.Select[Any]:
    # COALESCE of one-row subqueries, in rule order: evaluated lazily, so the first rule
    # that matches ends it, and it says which resource matched ("kind|Type/id").
    order = {kind: i for i, kind in enumerate(KINDS)}
    ranked = sorted(rules(settings), key=lambda rule: order.get(rule.kind, len(order)))
    firsts = [
        q.patient_arm(
            rule,
            settings,
            q.const(f"{rule.kind}|") + q.R.c.res_type + q.const("/") + q.R.c.res_id,
        )
        .limit(1)
        .scalar_subquery()
        for rule in ranked
    ]
    return sa.select(sa.func.coalesce(*firsts))


@lru_cache(maxsize=16)
def _all_relations(settings: RelationSettings) -> sa.CompoundSelect[Any]:
    arms = []
    for rule in rules(settings):
        columns = (
            q.const(rule.kind),
            q.R.c.res_type,
            q.R.c.res_id,
            q.matched_party(rule, settings),
            q.status_of(rule),
        )
        arms.append(q.patient_arm(rule, settings, *columns))
    return sa.union_all(*arms)


def own_open_work_item(
    ctx: WorkContext, table: Any, settings: RelationSettings | None = None
) -> Any:
    """SQL: the row of ``table`` is itself an open work item (Task) the unit owns.

    Such a row's patient has the ``work-item`` relation with the unit by that very row,
    so the filter need not look for it in the unit's whole set: a queue of 10,000 items
    is filtered with two index probes a row instead of the set (docs/benchmarks.md).
    Blocks, labels and the role's types still apply as for every row.
    """
    s = settings or _DEFAULT
    owner = by_owner(schema.idx_reference, "own_item_owner")
    status = by_owner(schema.idx_token, "own_item_status")
    return sa.and_(
        table.c.res_type == "Task",
        sa.exists(
            sa.select(owner.c.res_id).where(
                owner.c.res_type == "Task",
                owner.c.res_id == table.c.res_id,
                owner.c.param == "owner",
                owner.c.target_type == "Organization",
                owner.c.target_id == ctx.unit_id,
            )
        ),
        sa.exists(
            sa.select(status.c.res_id).where(
                status.c.res_type == "Task",
                status.c.res_id == table.c.res_id,
                status.c.param == "status",
                status.c.system.is_(None),
                status.c.code.in_(sorted(s.work_item_statuses)),
            )
        ),
    )
