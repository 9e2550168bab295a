"""A health worker's access filter, compiled to SQL text once per shape.

The filter (:func:`fellesjournal.access.policy.visible_clause`) is a large expression:
the care-relation rules, blocks, grants, labels. Built per request and embedded in a
search, SQLAlchemy would construct it (about 1,800 operator calls) and then walk it to
compute the statement's cache key on every execution: several milliseconds, more than
the search itself. Yet its *shape* depends only on the role's readable types, the
clearances, the scopes, the length of the unit's ``partOf`` chain, the table and the
relation settings; only a few values (the practitioner, role, unit and organisations,
and the decision time) change from one request to the next.

So :func:`compiled_filter` builds the filter once per shape for a *sentinel* context
(ids and a time no real data can hold), compiles it for the dialect as the WHERE of a
SELECT from the outer table (so that its subqueries correlate with that table's row,
as they do when the expression is embedded), and records which
bind parameter carries which sentinel. A request then gets a ``TextClause`` of that SQL
with its own values bound: no construction, and a cache key that is the text. The
parameters are renamed with a prefix so that they cannot collide with the search's own.
The text names the outer table as ``resources`` or ``resource_history``, which is what
the searches and histories it is embedded in use (unaliased).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from fellesjournal.access.context import WorkContext

_PREFIX: Final = "acl_"
_NOW: Final = 7_777_777_777_777_777  # microseconds: the year 2216, never a real decision time
_ID: Final = "\x01sentinel-{}\x01"
_DIALECTS: Final[dict[str, Dialect]] = {
    "sqlite": sqlite.dialect(paramstyle="named"),
    # The base dialect: psycopg's renders ``:name::TYPE`` casts, which text() would not
    # take for parameters. The types are those of the columns compared with.
    "postgresql": postgresql.base.PGDialect(paramstyle="named"),
}

Builder = Callable[[WorkContext, int], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    #: param name -> ("const", value) | ("ctx", attribute or parent index) | ("now", delta)
    params: dict[str, tuple[str, Any]]
    #: ``sa.text(sql)``, parsed once: parsing the text for its bind parameters took a
    #: third of a page of ten searches (measured on the workspace's patient overview).
    clause: sa.TextClause


_cache: dict[tuple[Any, ...], _Compiled] = {}
_lock = threading.Lock()


def _sentinel_context(ctx: WorkContext) -> WorkContext:
    return dataclasses.replace(
        ctx,
        practitioner_id=_ID.format("practitioner"),
        hpr=_ID.format("hpr"),
        role_id=_ID.format("role"),
        unit_id=_ID.format("unit"),
        parents=tuple(_ID.format(f"parent{i}") for i in range(len(ctx.parents))),
    )


def _classify(value: Any) -> tuple[str, Any]:
    if isinstance(value, str):
        for attr in ("practitioner", "hpr", "role", "unit"):
            if value == _ID.format(attr):
                return ("ctx", attr)
        if value.startswith("\x01sentinel-parent"):
            return ("parent", int(value[len("\x01sentinel-parent") : -1]))
        if "\x01sentinel-" in value:
            raise AssertionError(f"a sentinel inside a larger value: {value!r}")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value - _NOW) < _NOW // 2:
        return ("now", value - _NOW)
    return ("const", value)


def _compile(clause: Any, table: sa.Table, dialect: Dialect) -> _Compiled:
    # Compiled as the WHERE of a SELECT from the outer table, so that its subqueries
    # correlate with that table's row (alone, each would add the table to its own FROM
    # and test every row instead of the one at hand).
    stmt = sa.select(table.c.res_id).where(clause)
    state = stmt.compile(dialect=dialect).construct_expanded_state()
    bound: dict[str, Any] = dict(state.parameters)
    head, where, sql = state.statement.partition("\nWHERE ")
    if not where or f"FROM {table.name}" not in head or "(" in head:
        raise AssertionError(f"unexpected shape of the compiled filter: {head!r}")
    params: dict[str, tuple[str, Any]] = {}
    # Longest names first, so that :param_1 is not replaced inside :param_10. Constants
    # become literals (binding 150 of them per request costs more than the search);
    # only the context's ids and the times stay parameters.
    for name in sorted(bound, key=len, reverse=True):
        spec = _classify(bound[name])
        new = f"{_PREFIX}{name}"
        text = _literal(spec[1], dialect) if spec[0] == "const" else f":{new}"
        # A function as the replacement: the literal is inserted as is, backslashes too.
        sql, n = re.subn(rf"(?<![:\w]):{re.escape(name)}\b", _constant(text), sql)
        if n == 0:
            raise AssertionError(f"parameter {name} not found in the compiled filter")
        if spec[0] != "const":
            params[new] = spec
    return _Compiled(sql, params, sa.text(sql))


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: text


def _literal(value: Any, dialect: Dialect) -> str:
    """A constant as an SQL literal (the types the access filter binds)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("true" if value else "false") if dialect.name == "postgresql" else str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise AssertionError(f"no literal for {value!r} in the access filter")


def _value(spec: tuple[str, Any], ctx: WorkContext, now_us: int) -> Any:
    kind, what = spec
    if kind == "const":
        return what
    if kind == "now":
        return now_us + what
    if kind == "parent":
        return ctx.parents[what]
    return {
        "practitioner": ctx.practitioner_id,
        "hpr": ctx.hpr,
        "role": ctx.role_id,
        "unit": ctx.unit_id,
    }[what]


def compiled_filter(
    key: tuple[Any, ...],
    build: Builder,
    ctx: WorkContext,
    now_us: int,
    dialect: str,
    table: sa.Table,
) -> sa.TextClause:
    """``build(ctx, now_us)`` as bound SQL text, compiled once per ``key`` (which must
    determine the shape: everything ``build`` reads from ``ctx`` except its ids)."""
    full_key = (dialect, table.name, len(ctx.parents), *key)
    found = _cache.get(full_key)
    if found is None:
        found = _compile(build(_sentinel_context(ctx), _NOW), table, _DIALECTS[dialect])
        with _lock:
            if len(_cache) > 1024:
                _cache.clear()
            _cache[full_key] = found
    values = {name: _value(spec, ctx, now_us) for name, spec in found.params.items()}
    return found.clause.bindparams(**values)


def compiled_timed(
    key: tuple[Any, ...],
    build: Callable[[int], Any],
    now_us: int,
    dialect: str,
    table: sa.Table,
) -> sa.TextClause:
    """``build(now_us)`` as bound SQL text, compiled once per ``key``: for a filter whose
    only varying value is the decision time (a citizen's release rules, which take the
    patient from the row). ``key`` must determine everything else ``build`` reads."""
    full_key = ("timed", dialect, table.name, *key)
    found = _cache.get(full_key)
    if found is None:
        found = _compile(build(_NOW), table, _DIALECTS[dialect])
        if any(kind != "now" for kind, _what in found.params.values()):
            raise AssertionError("a timed filter binds only times")
        with _lock:
            if len(_cache) > 1024:
                _cache.clear()
            _cache[full_key] = found
    values = {name: now_us + delta for name, (_kind, delta) in found.params.items()}
    return found.clause.bindparams(**values)
