"""Search-index extraction: resource JSON → :class:`IndexRows`, driven by the R4 definitions.

Contract of :func:`extract`
---------------------------
* Total: never raises for a ``dict`` (malformed values, invalid dates/numbers, unknown resource
  types are skipped). Rows are de-duplicated, in first-seen order per kind.
* Only params of the resource's type (plus the ``Resource``/``DomainResource`` ones) are used.
  Not indexed: ``_id`` (the store has an id column), ``special`` params, params without an
  expression (``_text``, ``_content``, ``_query``) and composites with more than two components
  (MolecularSequence coordinates).
* Strings are stored :func:`~fellesjournal.search.normalize.normalize_string`-normalised and
  cut to 512 characters (token ``text`` too); token codes/systems and uris are stored verbatim.

Row shapes and value rules (spec page "Search parameter types"):

* ``string`` ``(param, normalized, exact)``: ``exact`` is the value as written (for
  ``:exact``); string/markdown; HumanName family, given, prefix, suffix,
  text; Address line, city, district, state, postalCode, country, text.
* ``token`` ``(param, system, code, text)``: code/string/uri/id → (None, value, None);
  boolean → "true"/"false"; Coding → (system, code, norm(display)); CodeableConcept → each
  coding plus (None, None, norm(text)) for ``CodeableConcept.text``; Identifier → (system,
  value, norm(type.text)) plus ``(param + ":of-type", type.coding.system,
  type.coding.code + "|" + value, None)`` per type coding; ContactPoint → (None, value, None);
  a Reference's ``identifier`` → ``(param + ":identifier", system, value, None)``.
* ``reference`` ``(param, type, id, url)``: ``Type/id[/_history/v]`` → (Type, id, None);
  absolute URL → (Type, id, url) when it ends in ``Type/id`` else (None, None, url); ``urn:``
  → (None, None, url); ``#contained`` → skipped; canonical/uri values as absolute URLs (a
  ``|version`` is ignored when parsing but kept in ``url``); a resource value (``Bundle.entry[0]
  .resource``) → (resourceType, id, None).
* ``date`` ``(param, low_us, high_us)`` from :func:`~fellesjournal.search.normalize.date_range`;
  Period start..end with open ends DATE_MIN/DATE_MAX; Timing → each event and
  ``repeat.boundsPeriod``.
* ``number`` ``(param, value, low, high)`` and ``quantity`` ``(param, value, low, high, system,
  code, unit)`` with implicit precision from the JSON number text (``number_range``);
  Quantity comparators ``<``/``<=`` open the low end (-inf), ``>``/``>=`` the high end (+inf);
  Money → system ``urn:iso:std:iso:4217``, code = currency; Range → low.value..high.value
  (value = midpoint, or the one bound present); SampledData is not indexed.
* ``uri`` ``(param, uri)``.
* ``composite`` ``(param, c1_system, c1_code, c2_system, c2_code, c2_number, c2_low, c2_high)``:
  component 1 as token (codings only); component 2 as token (system, code), quantity
  (system, code, number=value), date (low, high), string (code = normalized), number
  (number) or reference (system = type, code = id, or code = url when unparsed). The kind of a
  component comes from the value's FHIR type and, for plain strings, from the component
  definition (this also copes with R4's swapped DocumentReference ``relationship`` components).

Speed: a plan per resource type is built once (lazily, per registry). Each top-level ``|``
branch of each expression is registered under the top-level JSON keys it reads, so only
branches whose element is present run. Measured ~22,000 Synthea resources/s on one core.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from fellesjournal.norway import confidentiality
from fellesjournal.search.fhirpath import CompiledExpression, Fn, Node, split_reference
from fellesjournal.search.normalize import (
    DATE_MAX,
    DATE_MIN,
    date_range,
    normalize_string,
    number_range,
)
from fellesjournal.search.registry import Registry, SearchParam, load_registry

__all__ = ["IndexRows", "extract"]

MAX_STRING = 512
_SKIP_CODES = frozenset({"_id", "_text", "_content", "_query", "_filter", "_list", "_has", "_type"})
_NUMERIC = (int, float, Decimal)
_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
_QUANTITY_TYPES = frozenset(
    {"Quantity", "Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity"}
)
_DATE_TYPES = frozenset({"date", "dateTime", "instant", "Period", "Timing"})
_TOKEN_TYPES = frozenset(
    {
        "Coding",
        "CodeableConcept",
        "Identifier",
        "ContactPoint",
        "boolean",
        "code",
        "id",
        "uri",
        "url",
        "canonical",
        "oid",
        "uuid",
    }
)
_INF = math.inf


@dataclass(slots=True)
class IndexRows:
    """Index rows of one resource, by search-parameter type (see module docstring)."""

    string: list[tuple[str, str, str]]
    token: list[tuple[str, str | None, str | None, str | None]]
    reference: list[tuple[str, str | None, str | None, str | None]]
    date: list[tuple[str, int, int]]
    number: list[tuple[str, float, float, float]]
    quantity: list[tuple[str, float, float, float, str | None, str | None, str | None]]
    uri: list[tuple[str, str]]
    composite: list[
        tuple[
            str,
            str | None,
            str | None,
            str | None,
            str | None,
            float | None,
            int | None,
            int | None,
        ]
    ]


@lru_cache(maxsize=65536)
def _norm(s: str) -> str:
    return normalize_string(s)[:MAX_STRING]


def _s(v: Any) -> str | None:
    return v if type(v) is str else None


def _num_text(v: Any) -> str | None:
    if type(v) is int:
        return str(v)
    if type(v) is float:
        return repr(v)
    if type(v) is Decimal:  # a decimal whose text a float would change (fhir/jsonio.py)
        return str(v)
    return None


# ----------------------------------------------------------------------------- token
def _tok_prim(code: str, v: Any, out: list) -> None:
    if type(v) is str:
        out.append((code, None, v, None))
    elif type(v) is bool:
        out.append((code, None, "true" if v else "false", None))
    elif type(v) in _NUMERIC:
        out.append((code, None, str(v), None))


def _tok_coding(code: str, v: Any, out: list) -> None:
    if type(v) is dict:
        system, c, display = _s(v.get("system")), _s(v.get("code")), _s(v.get("display"))
        if system or c or display:
            out.append((code, system, c, _norm(display) if display else None))


def _tok_cc(code: str, v: Any, out: list) -> None:
    if type(v) is dict:
        for coding in v.get("coding") or ():
            _tok_coding(code, coding, out)
        text = _s(v.get("text"))
        if text:
            out.append((code, None, None, _norm(text)))


def _tok_identifier(code: str, v: Any, out: list) -> None:
    if type(v) is not dict:
        return
    system, value, typ = _s(v.get("system")), _s(v.get("value")), v.get("type")
    if type(typ) is not dict:
        typ = {}
    if system or value:
        text = _s(typ.get("text"))
        out.append((code, system, value, _norm(text) if text else None))
    if value:
        for coding in typ.get("coding") or ():
            if type(coding) is dict and type(coding.get("code")) is str:
                out.append(
                    (
                        code + ":of-type",
                        _s(coding.get("system")),
                        coding["code"] + "|" + value,
                        None,
                    )
                )


def _tok_contact(code: str, v: Any, out: list) -> None:
    if type(v) is dict and type(v.get("value")) is str:
        out.append((code, None, v["value"], None))


def _tok_infer(v: Any) -> Callable[[str, Any, list], None] | None:
    if type(v) is not dict:
        return _tok_prim
    if "coding" in v or set(v) <= {"text", "id", "extension"}:
        return _tok_cc
    if "value" in v:
        if "rank" in v or v.get("system") in _CONTACT_SYSTEMS:
            return _tok_contact
        return _tok_identifier
    if "code" in v or "system" in v:
        return _tok_coding
    return None


_TOKEN_BY_TYPE: dict[str | None, Callable[[str, Any, list], None]] = {
    "Coding": _tok_coding,
    "CodeableConcept": _tok_cc,
    "Identifier": _tok_identifier,
    "ContactPoint": _tok_contact,
    **{
        t: _tok_prim
        for t in (
            "string",
            "code",
            "id",
            "uri",
            "url",
            "canonical",
            "oid",
            "uuid",
            "boolean",
            "markdown",
            "integer",
            "positiveInt",
            "unsignedInt",
        )
    },
}


def _token(code: str, nodes: list[Node], rows: IndexRows, root: Any) -> None:
    out = rows.token
    for v, t in nodes:
        f = _TOKEN_BY_TYPE.get(t) if t is not None else _tok_infer(v)
        if f is not None:
            f(code, v, out)


# ----------------------------------------------------------------------------- string
_NAME_PARTS: tuple[str, ...] = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS: tuple[str, ...] = (
    "line",
    "city",
    "district",
    "state",
    "postalCode",
    "country",
    "text",
)


def _string(code: str, nodes: list[Node], rows: IndexRows, root: Any) -> None:
    out = rows.string
    for v, t in nodes:
        if type(v) is str:
            n = _norm(v)
            if n:
                out.append((code, n, v[:MAX_STRING]))
        elif type(v) is dict:
            if t == "HumanName" or (t is None and ("family" in v or "given" in v)):
                parts = _NAME_PARTS
            elif t == "Address" or (t is None and ("line" in v or "city" in v)):
                parts = _ADDRESS_PARTS
            else:
                continue
            for p in parts:
                x = v.get(p)
                for s in x if type(x) is list else (x,):
                    if type(s) is str and (n := _norm(s)):
                        out.append((code, n, s[:MAX_STRING]))
            if parts is _NAME_PARTS and "extension" in v:
                # A Norwegian mellomnavn lives in an extension, but a clinician searching
                # by name expects "Ola Bjørn Nordmann" to be found by "Bjørn" too.
                for s in _middle_names(v["extension"]):
                    if n := _norm(s):
                        out.append((code, n, s[:MAX_STRING]))


MIDDLENAME_URL = "http://hl7.no/fhir/StructureDefinition/no-basis-middlename"


def _middle_names(extensions: Any) -> list[str]:
    if type(extensions) is not list:
        return []
    return [
        e["valueString"]
        for e in extensions
        if type(e) is dict and e.get("url") == MIDDLENAME_URL and type(e.get("valueString")) is str
    ]


# ----------------------------------------------------------------------------- reference
@lru_cache(maxsize=65536)
def _parse_ref(ref: str, types: frozenset[str]) -> tuple[str | None, str | None, str | None] | None:
    if not ref or ref.startswith("#"):
        return None
    rtype, rid = split_reference(ref, types)
    if "://" in ref or ref.startswith("urn:"):
        return rtype, rid, ref
    return (rtype, rid, None) if rtype else (None, None, ref)


def _reference_conv(types: frozenset[str]) -> Callable[[str, list[Node], IndexRows, Any], None]:
    def conv(code: str, nodes: list[Node], rows: IndexRows, root: Any) -> None:
        out = rows.reference
        for v, _t in nodes:
            if type(v) is str:
                r = _parse_ref(v, types)
                if r is not None:
                    out.append((code, *r))
            elif type(v) is dict:
                if "resourceType" in v:
                    if type(v.get("id")) is str:
                        out.append((code, v["resourceType"], v["id"], None))
                    continue
                ref = v.get("reference")
                if type(ref) is str:
                    r = _parse_ref(ref, types)
                    if r is not None:
                        out.append((code, *r))
                ident = v.get("identifier")
                if type(ident) is dict and type(ident.get("value")) is str:
                    rows.token.append(
                        (code + ":identifier", _s(ident.get("system")), ident["value"], None)
                    )

    return conv


# ----------------------------------------------------------------------------- date
def _period(v: dict) -> tuple[int, int] | None:
    start, end = _s(v.get("start")), _s(v.get("end"))
    if not start and not end:
        return None
    return (date_range(start)[0] if start else DATE_MIN, date_range(end)[1] if end else DATE_MAX)


def _date(code: str, nodes: list[Node], rows: IndexRows, root: Any) -> None:
    out = rows.date
    for v, t in nodes:
        try:
            if type(v) is str:
                if t != "time" and t != "string":  # string: a choice such as occurrenceString
                    out.append((code, *date_range(v)))
            elif type(v) is dict:
                if t == "Timing" or (t is None and ("event" in v or "repeat" in v)):
                    for e in v.get("event") or ():
                        if type(e) is str:
                            out.append((code, *date_range(e)))
                    bounds = (v.get("repeat") or {}).get("boundsPeriod")
                    rng = _period(bounds) if type(bounds) is dict else None
                else:
                    rng = _period(v)
                if rng is not None:
                    out.append((code, *rng))
        except (ValueError, AttributeError):
            continue


# ----------------------------------------------------------------------------- number/quantity
def _number(code: str, nodes: list[Node], rows: IndexRows, root: Any) -> None:
    for v, _t in nodes:
        text = _num_text(v)
        if text is not None:
            try:
                rows.number.append((code, *number_range(text)))
            except ValueError:
                continue


def _quantity_row(v: dict) -> tuple[float, float, float, str | None, str | None, str | None] | None:
    text = _num_text(v.get("value"))
    if text is None:
        return None
    try:
        value, low, high = number_range(text)
    except ValueError:
        return None
    comparator = v.get("comparator")
    if comparator in ("<", "<="):
        low = -_INF
    elif comparator in (">", ">="):
        high = _INF
    if "currency" in v:
        return value, low, high, "urn:iso:std:iso:4217", _s(v.get("currency")), None
    return value, low, high, _s(v.get("system")), _s(v.get("code")), _s(v.get("unit"))


def _range_row(v: dict) -> tuple[float, float, float, str | None, str | None, str | None] | None:
    lo, hi = v.get("low"), v.get("high")
    lo = lo if type(lo) is dict else {}
    hi = hi if type(hi) is dict else {}
    ql, qh = _quantity_row(lo), _quantity_row(hi)
    if ql is None and qh is None:
        return None
    low = ql[0] if ql else -_INF
    high = qh[0] if qh else _INF
    value = (low + high) / 2 if ql and qh else (ql or qh)[0]  # type: ignore[index]
    unit_src = ql or qh
    assert unit_src is not None
    return value, low, high, *unit_src[3:]


def _quantity(code: str, nodes: list[Node], rows: IndexRows, root: Any) -> None:
    out = rows.quantity
    for v, t in nodes:
        if type(v) is not dict or t == "SampledData":
            continue
        if t == "Range" or (t is None and ("low" in v or "high" in v)):
            r = _range_row(v)
        else:
            r = _quantity_row(v)
        if r is not None:
            out.append((code, *r))


def _uri(code: str, nodes: list[Node], rows: IndexRows, root: Any) -> None:
    for v, _t in nodes:
        if type(v) is str and v:
            rows.uri.append((code, v))


# ----------------------------------------------------------------------------- composite
def _kind(t: str | None, v: Any, definition_type: str) -> str:
    if t == "Reference":
        return "reference"
    if t in _QUANTITY_TYPES or t in ("Money", "Range"):
        return "quantity"
    if t in _DATE_TYPES:
        return "date"
    if t in _TOKEN_TYPES:
        return "token"
    if t in ("decimal", "integer", "positiveInt", "unsignedInt"):
        return "number"
    if t == "string" or t is None:
        if definition_type in ("string", "token", "date", "number", "uri"):
            return definition_type
        return "token" if type(v) is str else definition_type
    return definition_type


_C2 = tuple[str | None, str | None, float | None, int | None, int | None]


def _component_values(
    nodes: list[Node], def_type: str, types: frozenset[str], scratch: IndexRows
) -> list[_C2]:
    """Component values as ``(system, code, number, low, high)``; ``scratch`` must be empty."""
    out: list[_C2] = []
    for v, t in nodes:
        kind = _kind(t, v, def_type)
        one = [(v, t)]
        if kind == "token":
            _token("", one, scratch, None)
            out.extend((s, c, None, None, None) for _p, s, c, _x in scratch.token if c)
            scratch.token.clear()
        elif kind == "quantity":
            _quantity("", one, scratch, None)
            out.extend((q[4], q[5], q[1], None, None) for q in scratch.quantity)
            scratch.quantity.clear()
        elif kind == "date":
            _date("", one, scratch, None)
            out.extend((None, None, None, d[1], d[2]) for d in scratch.date)
            scratch.date.clear()
        elif kind == "string":
            _string("", one, scratch, None)
            out.extend((None, s, None, None, None) for _p, s, _exact in scratch.string)
            scratch.string.clear()
        elif kind == "number":
            _number("", one, scratch, None)
            out.extend((None, None, n[1], None, None) for n in scratch.number)
            scratch.number.clear()
        elif kind == "reference":
            _reference_conv(types)("", one, scratch, None)
            out.extend((r[1], r[2] if r[1] else r[3], None, None, None) for r in scratch.reference)
            scratch.reference.clear()
            scratch.token.clear()
    return out


def _composite_conv(
    c1: CompiledExpression, t1: str, c2: CompiledExpression, t2: str, types: frozenset[str]
) -> Callable[[str, list[Node], IndexRows, Any], None]:
    def conv(code: str, nodes: list[Node], rows: IndexRows, root: Any) -> None:
        scratch: IndexRows | None = None
        for n in nodes:
            values = c2.evaluate_nodes([n], root)  # the more selective side first
            if not values:
                continue
            codes = c1.evaluate_nodes([n], root)
            if not codes:
                continue
            if scratch is None:
                scratch = IndexRows([], [], [], [], [], [], [], [])
            first = [(s, c) for s, c, _n, _l, _h in _component_values(codes, t1, types, scratch)]
            if first:
                second = _component_values(values, t2, types, scratch)
                rows.composite.extend((code, s1, k1, *v2) for s1, k1 in first for v2 in second)

    return conv


# ----------------------------------------------------------------------------- plans
Converter = Callable[[str, list[Node], IndexRows, Any], None]
_CONVERTERS: dict[str, Converter] = {
    "token": _token,
    "string": _string,
    "date": _date,
    "number": _number,
    "quantity": _quantity,
    "uri": _uri,
}


@dataclass(frozen=True, slots=True)
class _Unit:
    code: str
    fn: Fn
    convert: Converter
    multi: bool  # registered under several keys: guard against running twice


@dataclass(slots=True)
class _Plan:
    always: list[_Unit]
    by_key: dict[str, list[_Unit]]


_PLANS: weakref.WeakKeyDictionary[Registry, dict[str, _Plan | None]] = weakref.WeakKeyDictionary()


def _converter(reg: Registry, rtype: str, sp: SearchParam) -> Converter | None:
    if sp.type == "reference":
        return _reference_conv(reg.resource_types)
    if sp.type != "composite":
        return _CONVERTERS.get(sp.type)
    if len(sp.components) != 2:
        return None
    comps = [reg.compiled_component(sp, i) for i in range(2)]
    if comps[0] is None or comps[1] is None:
        return None
    defs = [reg.get(rtype, c) for c, _e in sp.components]
    t1, t2 = (d.type if d is not None else "token" for d in defs)
    return _composite_conv(comps[0], t1, comps[1], t2, reg.resource_types)


def _build_plan(reg: Registry, rtype: str) -> _Plan | None:
    if rtype not in reg.resource_types:
        return None
    plan = _Plan([], {})
    for code, sp in reg.params_for(rtype).items():
        if code in _SKIP_CODES or sp.type == "special":
            continue
        compiled = reg.compiled(sp)
        conv = _converter(reg, rtype, sp) if compiled is not None else None
        if compiled is None or conv is None:
            continue
        for br in compiled.branches:
            fn = br.fn
            if br.root is not None:
                if not reg.types.is_subtype(rtype, br.root):
                    continue
                fn = br.typed
            unit = _Unit(code, fn, conv, br.keys is not None and len(br.keys) > 1)
            if br.keys is None:
                plan.always.append(unit)
            else:
                for k in br.keys:
                    plan.by_key.setdefault(k, []).append(unit)
    return plan


def _plan(reg: Registry, rtype: str) -> _Plan | None:
    plans = _PLANS.get(reg)
    if plans is None:
        plans = _PLANS[reg] = {}
    try:
        return plans[rtype]
    except KeyError:
        plan = plans[rtype] = _build_plan(reg, rtype)
        return plan


def extract(resource: dict[str, Any], registry: Registry | None = None) -> IndexRows:
    """Index rows for ``resource`` (see module docstring); ``registry`` defaults to
    :func:`~fellesjournal.search.registry.load_registry`."""
    rows = IndexRows([], [], [], [], [], [], [], [])
    rtype = resource.get("resourceType") if type(resource) is dict else None
    if type(rtype) is not str:
        return rows
    plan = _plan(registry or load_registry(), rtype)
    if plan is None:
        return rows
    if "address" in resource:
        # A fortrolig or strengt fortrolig address must not be findable by any search.
        resource = confidentiality.index_view(resource)
    ctx: list[Node] = [(resource, rtype)]
    units = list(plan.always)
    fired: set[int] | None = None
    by_key = plan.by_key
    for key in resource:
        hit = by_key.get(key)
        if hit:
            for u in hit:
                if u.multi:
                    if fired is None:
                        fired = set()
                    if id(u) in fired:
                        continue
                    fired.add(id(u))
                units.append(u)
    for u in units:
        try:
            nodes = u.fn(ctx, resource)
            if nodes:
                u.convert(u.code, nodes, rows, resource)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError):
            continue  # malformed input: skip this parameter rather than fail the resource
    if len(rows.string) > 1:
        rows.string = list(dict.fromkeys(rows.string))
    if len(rows.token) > 1:
        rows.token = list(dict.fromkeys(rows.token))
    if len(rows.reference) > 1:
        rows.reference = list(dict.fromkeys(rows.reference))
    if len(rows.date) > 1:
        rows.date = list(dict.fromkeys(rows.date))
    if len(rows.number) > 1:
        rows.number = list(dict.fromkeys(rows.number))
    if len(rows.quantity) > 1:
        rows.quantity = list(dict.fromkeys(rows.quantity))
    if len(rows.uri) > 1:
        rows.uri = list(dict.fromkeys(rows.uri))
    if len(rows.composite) > 1:
        rows.composite = list(dict.fromkeys(rows.composite))
    return rows
