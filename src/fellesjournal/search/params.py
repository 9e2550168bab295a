"""Parse FHIR search parameters into a :class:`SearchRequest` (no SQL here).

Implements the parameter syntax of https://hl7.org/fhir/R4/search.html: modifiers
(``name:exact``), comma-separated OR values with ``\\,`` escapes, prefixes for ordered
types, chaining (``subject:Patient.name=x``, several levels), reverse chaining
(``_has:Observation:patient:code=x``) and the result parameters (``_sort``, ``_count``,
``_include``, ``_revinclude``, ``_summary``, ``_elements``, ``_total``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fellesjournal.fhir.errors import bad_request
from fellesjournal.search.registry import Registry, SearchParam

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_PREFIXED = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[-+]?\.?[0-9])")
MAX_OFFSET = 10_000_000

RESULT_PARAMS = frozenset(
    {
        "_sort",
        "_count",
        "_include",
        "_revinclude",
        "_summary",
        "_elements",
        "_total",
        "_offset",
        "_format",
        "_pretty",
        "_contained",
        "_containedType",
        "_since",
        "_at",
    }
)
MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"exact", "contains", "missing"}),
    "token": frozenset({"not", "missing", "text", "of-type"}),
    "reference": frozenset({"missing", "identifier"}),
    "date": frozenset({"missing"}),
    "number": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "uri": frozenset({"missing", "below", "above"}),
    "composite": frozenset({"missing"}),
    "special": frozenset(),
}


@dataclass(frozen=True, slots=True)
class Criterion:
    """One search criterion: ``param[:modifier]=v1,v2`` (OR), possibly chained.

    For a chain, ``chain`` is the rest of the criterion, evaluated on the resources the
    reference points to (of type ``target_type`` when a ``:Type`` modifier was given).
    """

    param: SearchParam
    modifier: str | None
    values: tuple[str, ...]
    chain: Criterion | None = None
    target_type: str | None = None


@dataclass(frozen=True, slots=True)
class HasCriterion:
    """``_has:Type:refparam:...=values``: resources that ``Type`` points at via ``refparam``."""

    source_type: str
    ref_param: SearchParam
    inner: Criterion | HasCriterion


@dataclass(frozen=True, slots=True)
class Include:
    source_type: str
    param: str
    target_type: str | None
    iterate: bool


@dataclass
class SearchRequest:
    """Everything a search asks for, validated against the registry."""

    res_type: str | None
    criteria: list[Criterion | HasCriterion] = field(default_factory=list)
    ids: tuple[str, ...] | None = None
    types: tuple[str, ...] = ()
    """``_type`` on a system-level search (empty: every type)."""
    sort: list[tuple[str, bool]] = field(default_factory=list)
    count: int = 50
    offset: int = 0
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    summary: str | None = None
    elements: tuple[str, ...] | None = None
    #: ``None``: the server's choice (exact up to :data:`TOTAL_CAP` matches, else absent).
    total: str | None = None
    ignored: list[str] = field(default_factory=list)
    """Parameters that were not understood (ignored with a warning unless strict)."""


def split_values(raw: str) -> tuple[str, ...]:
    """Split an OR list on unescaped commas; ``\\,`` becomes a comma.

    Other escapes (``\\|``, ``\\$``, ``\\\\``) are kept for :func:`split_escaped`
    and :func:`unescape`, which the value parsers apply.
    """
    if "\\" not in raw:
        return tuple(raw.split(","))
    out, cur, i = [], [], 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            cur.append(nxt if nxt == "," else raw[i : i + 2])
            i += 2
            continue
        if ch == ",":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return tuple(out)


def escape(value: str) -> str:
    """The search-value form of ``value``: ``\\``, ``|``, ``$`` and ``,`` escaped."""
    for ch in "\\|$,":
        value = value.replace(ch, "\\" + ch)
    return value


def unescape(value: str) -> str:
    """Drop the backslash of ``\\|``, ``\\$``, ``\\,`` and ``\\\\``."""
    if "\\" not in value:
        return value
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in "\\|$,":
            out.append(value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def split_escaped(
    value: str, sep: str, maxsplit: int = -1, *, keep_escapes: bool = False
) -> list[str]:
    """Split on unescaped ``sep`` (``|`` or ``$``) and unescape each part (unless
    ``keep_escapes``, for parts that are split again)."""
    if "\\" not in value:
        return value.split(sep, maxsplit)
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            cur.append(value[i : i + 2])
            i += 2
            continue
        if ch == sep and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts if keep_escapes else [unescape(p) for p in parts]


def split_prefix(value: str) -> tuple[str, str]:
    """``ge2020`` -> ("ge", "2020"); no prefix means ``eq``."""
    m = _PREFIXED.match(value)
    if m:
        return m.group(1), value[2:]
    return "eq", value


class Parser:
    """Parses query items for one resource type (or all types, for system search)."""

    def __init__(
        self, registry: Registry, *, default_count: int, max_count: int, strict: bool = False
    ) -> None:
        self.registry = registry
        self.default_count = default_count
        self.max_count = max_count
        self.strict = strict

    def parse(self, res_type: str | None, items: list[tuple[str, str]]) -> SearchRequest:
        req = SearchRequest(res_type=res_type, count=self.default_count)
        base = res_type or "Resource"
        for key, raw in items:
            if "\x00" in key or "\x00" in raw:
                raise bad_request("search parameters must not contain NUL characters")
            if key.startswith(("_include", "_revinclude")):
                kind, _, mod = key.partition(":")
                if mod not in ("", "iterate", "recurse"):
                    raise bad_request(f"unknown modifier on {kind}: '{mod}'", kind)
                inc = self._include(kind, raw, iterate=bool(mod))
                (req.includes if kind == "_include" else req.revincludes).append(inc)
            elif key in RESULT_PARAMS:
                self._result_param(req, base, key, raw)
            elif key == "_type" and res_type is None:
                req.types = tuple(t for t in split_values(raw) if t)
                unknown = [t for t in req.types if t not in self.registry.resource_types]
                if unknown:
                    raise bad_request(
                        f"_type names unknown resource types: {', '.join(unknown)}", "_type"
                    )
            elif key == "_id":
                ids = split_values(raw)
                req.ids = ids if req.ids is None else tuple(i for i in req.ids if i in ids)
            elif key.startswith("_has:"):
                req.criteria.append(self._has(base, key, raw))
            else:
                crit = self._criterion(base, key, raw)
                if crit is not None:
                    req.criteria.append(crit)
                else:
                    req.ignored.append(key)
        if req.ignored and self.strict:
            raise bad_request(f"unknown search parameter(s): {', '.join(req.ignored)}")
        return req

    # -- criteria -------------------------------------------------------------------------

    def _criterion(self, res_type: str, key: str, raw: str) -> Criterion | None:
        head, _, rest = key.partition(".")
        name, _, modifier = head.partition(":")
        param = self.registry.get(res_type, name)
        if param is None:
            return None
        mod: str | None = modifier or None
        if rest:
            if param.type != "reference":
                raise bad_request(f"'{name}' is not a reference parameter, it cannot be chained")
            targets = [mod] if mod else list(param.targets)
            if mod and mod not in param.targets:
                raise bad_request(f"'{name}' cannot refer to {mod}")
            chained: Criterion | None = None
            for target in targets:
                chained = self._criterion(target, rest, raw)
                if chained is not None:
                    break
            if chained is None:
                raise bad_request(f"unknown chained parameter '{rest}' on {'/'.join(targets)}")
            return Criterion(param, None, (), chain=chained, target_type=mod)
        if mod is not None and param.type == "reference" and mod[:1].isupper():
            if mod not in param.targets:
                raise bad_request(f"'{name}' cannot refer to {mod}")
            return Criterion(param, None, split_values(raw), target_type=mod)
        if mod is not None and mod not in MODIFIERS.get(param.type, frozenset()):
            raise bad_request(
                f"modifier ':{mod}' is not supported on {param.type} parameter '{name}'"
            )
        if mod == "missing" and raw not in ("true", "false"):
            raise bad_request(f"':missing' takes true or false, not '{raw}'")
        values = split_values(raw)
        if any(v == "" for v in values) and mod != "missing":
            raise bad_request(f"empty value for search parameter '{name}'")
        return Criterion(param, mod, values)

    def _has(self, res_type: str, key: str, raw: str) -> HasCriterion:
        parts = key.split(":", 3)
        if len(parts) < 4:
            raise bad_request(f"malformed _has parameter '{key}'", "_has")
        _, source, ref_name, rest = parts
        ref = self.registry.get(source, ref_name)
        if ref is None or ref.type != "reference":
            raise bad_request(f"'{ref_name}' is not a reference parameter of {source}")
        if res_type != "Resource" and ref.targets and res_type not in ref.targets:
            raise bad_request(f"{source}.{ref_name} cannot refer to {res_type}")
        if rest.startswith("_has:"):
            return HasCriterion(source, ref, self._has(source, rest, raw))
        inner = self._criterion(source, rest, raw)
        if inner is None:
            raise bad_request(f"unknown search parameter '{rest}' on {source}")
        return HasCriterion(source, ref, inner)

    # -- result parameters ----------------------------------------------------------------

    def _result_param(self, req: SearchRequest, base: str, key: str, raw: str) -> None:
        if key == "_count":
            req.count = min(_non_negative(key, raw), self.max_count)
        elif key == "_offset":
            req.offset = _non_negative(key, raw)
        elif key == "_sort":
            for item in raw.split(","):
                desc = item.startswith("-")
                name = item.lstrip("-")
                if name not in ("_id", "_lastUpdated") and self.registry.get(base, name) is None:
                    raise bad_request(f"cannot sort by unknown parameter '{name}'", "_sort")
                req.sort.append((name, desc))
        elif key == "_summary":
            if raw not in ("true", "false", "count", "text", "data"):
                raise bad_request(f"_summary must be true, false, count, text or data: '{raw}'")
            req.summary = None if raw == "false" else raw
        elif key == "_elements":
            req.elements = tuple(e.strip() for e in raw.split(",") if e.strip())
        elif key == "_total":
            if raw not in ("none", "estimate", "accurate"):
                raise bad_request(f"_total must be none, estimate or accurate: '{raw}'")
            req.total = raw

    def _include(self, key: str, raw: str, *, iterate: bool) -> Include:
        parts = raw.split(":")
        if raw == "*":
            return Include("*", "*", None, iterate)
        if len(parts) not in (2, 3):
            raise bad_request(f"{key} must be Type:param[:targetType], not '{raw}'", key)
        source, name = parts[0], parts[1]
        param = self.registry.get(source, name) if name != "*" else None
        if name != "*" and (param is None or param.type != "reference"):
            raise bad_request(f"{key}: '{name}' is not a reference parameter of {source}", key)
        return Include(source, name, parts[2] if len(parts) == 3 else None, iterate)


def _non_negative(key: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{key} must be a whole number, not '{raw}'", key) from None
    if value < 0:
        raise bad_request(f"{key} must not be negative", key)
    if value > MAX_OFFSET:
        raise bad_request(f"{key} must not be larger than {MAX_OFFSET}", key)
    return value
