"""The relation statements use the indexes on both backends, and bind only what varies.

SQLite plans without statistics, so its plans are fixed by the shape of the statements:
every table is reached through an index (no ``SCAN`` of a table), the patient shapes
start from the patient's compartment, and date probes use the owner index. PostgreSQL
plans by statistics, which on the small suite database may rightly prefer a sequential
scan; with sequential scans disabled every statement must still have an index plan.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from fellesjournal.access import relation_sql
from fellesjournal.access.relations import (
    RelationSettings,
    accessible_patients_query,
    relation_params,
)
from fellesjournal.store.sql import SqlStore
from tests.access_relations.conftest import World
from tests.conftest import BACKEND

SETTINGS = RelationSettings()


def statements() -> dict[str, Any]:
    from fellesjournal.access import relations

    return {
        "set": accessible_patients_query(SETTINGS),
        "one": accessible_patients_query(SETTINGS, one_patient=True),
        "any": relations._any_relation(SETTINGS),
        "all": relations._all_relations(SETTINGS),
    }


def _plan(world: World, stmt: Any, store: SqlStore, prefix: str) -> list[str]:
    params = relation_params(world.worker, world.now_us, SETTINGS, patient_id="nobody")
    with world.repo.reading() as tx:
        compiled = stmt.compile(dialect=tx.conn.dialect)
        values = {**compiled.params, **params}
        if store.dialect == "sqlite":
            args: Any = tuple(values[name] for name in compiled.positiontup)
        else:
            tx.conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            args = values
        rows = tx.conn.exec_driver_sql(prefix + str(compiled), args).all()
    return [str(row[-1] if store.dialect == "sqlite" else row[0]) for row in rows]


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's plan")
@pytest.mark.parametrize("name", ["set", "one", "any", "all"])
def test_sqlite_reaches_every_table_through_an_index(
    world: World, store: SqlStore, name: str
) -> None:
    plan = _plan(world, statements()[name], store, "EXPLAIN QUERY PLAN ")
    scans = [line for line in plan if re.match(r"\s*SCAN (?!CONSTANT ROW|accessible)", line)]
    assert scans == [], plan
    searches = [line for line in plan if "SEARCH" in line]
    assert searches and all("INDEX" in line for line in searches), plan
    # a probe that used only (res_type=?) of an index would walk every row of the type
    assert not [line for line in searches if line.endswith("(res_type=?)")], plan
    dated = [line for line in searches if "SEARCH period" in line]
    assert dated and all("ix_idx_date_owner (res_type=? AND res_id=?)" in d for d in dated)
    if name != "set":
        assert any("ix_resources_patient (patient_id=? AND res_type=?)" in s for s in searches)


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's plan")
@pytest.mark.parametrize("name", ["set", "one", "any", "all"])
def test_postgresql_has_an_index_plan_for_every_table(
    world: World, store: SqlStore, name: str
) -> None:
    plan = _plan(world, statements()[name], store, "EXPLAIN (COSTS OFF) ")
    assert not [line for line in plan if "Seq Scan" in line], "\n".join(plan)
    assert any("ix_idx_reference_lookup" in line for line in plan)
    # EXISTS probes stay per-row subplans (OFFSET 0), never hashed over a unit's history;
    # only the unit's members (a few PractitionerRoles) may be hashed
    for number in {int(n) for line in plan for n in re.findall(r"hashed SubPlan (\d+)", line)}:
        start = plan.index(next(line for line in plan if line.strip() == f"SubPlan {number}"))
        scan = next(line for line in plan[start + 1 :] if " on " in line)
        assert re.search(r" on idx_reference member(_\d+)?$", scan), "\n".join(plan)


@pytest.mark.parametrize("name", ["set", "one", "any", "all"])
def test_only_the_context_patient_and_times_are_bound(store: SqlStore, name: str) -> None:
    """Constants are SQL text, so a prepared statement's generic plan knows them."""
    compiled = statements()[name].compile(dialect=store.engine.dialect)
    ours = {p.key for p in relation_sql.PARAMS}
    strays = {k: v for k, v in compiled.params.items() if k not in ours}
    # what SQLAlchemy binds by itself: LIMIT 1 of the scalar subqueries, LIMIT -1 on SQLite
    assert all(isinstance(v, int) for v in strays.values()), strays


def test_the_statements_are_built_once_per_settings() -> None:
    assert accessible_patients_query(SETTINGS) is accessible_patients_query(RelationSettings())
    other = RelationSettings(encounter_days=7)
    assert accessible_patients_query(other) is not accessible_patients_query(SETTINGS)
    assert isinstance(accessible_patients_query(other), sa.Select)
