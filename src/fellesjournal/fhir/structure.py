"""Compiled R4 structure definitions: the lookup tables the validator walks.

Contract
--------
* Reads only the packaged ``definitions/r4-structure.json.gz`` (built by
  ``tools/build_r4_definitions.py`` from the official R4 4.0.1 StructureDefinitions); never
  anything outside the package.
* :data:`RESOURCE_TYPES` is every concrete R4 resource type.
* :func:`resource_nodes` compiles (once, then cached) one :class:`Node` per resource type,
  complex datatype and inline backbone element. A node maps each JSON property name that may
  appear in an object of that type to a :data:`Spec` tuple; choice elements are expanded
  (``valueQuantity``, ``valueString``, ...), primitive elements get a ``_name`` twin for their
  extensions, elements with max 0 are left out.

Spec tuple layout (indices are the ``S_*`` constants)::

    (kind, many, choice, node, ptypes, match, extra, codes, tname)

``kind`` is one of ``PRIM`` (primitive value), ``CPLX`` (JSON object of ``node``),
``RES`` (an inline resource, dispatched on ``resourceType``), ``PEXT`` (the ``_name`` twin of a
primitive: an Element object, or an array of them aligned with the values), ``SKIP``
(``resourceType`` of a resource). ``many`` is True when max is ``*`` (JSON array expected).
``choice`` is ``(base, key)`` for expanded choice elements (``("value", "valueQuantity")``),
else None. For primitives ``ptypes`` is the tuple of accepted Python types, ``match`` a
precompiled ``fullmatch`` (or None), ``extra`` a post-check callable (calendar date, integer
range; or None), ``codes`` the required-binding :class:`CodeSet` (or None) and ``tname`` the
FHIR type name.
"""

from __future__ import annotations

import calendar
import gzip
import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

DEFINITIONS = "r4-structure.json.gz"

PRIM, CPLX, RES, PEXT, SKIP = 0, 1, 2, 3, 4
S_KIND, S_MANY, S_CHOICE, S_NODE, S_PTYPES, S_MATCH, S_EXTRA, S_CODES, S_TNAME = range(9)

# Node.flag values: extra checks after the properties have been walked.
F_PLAIN, F_EXTENSION, F_IDENTIFIER = 0, 1, 2

Spec = tuple[Any, ...]

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# Types whose regex applies to the lexical JSON string; numbers and booleans are checked by
# their JSON type (the JSON number grammar is the R4 decimal/integer grammar) plus a range.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "positiveInt": (int,),
    "unsignedInt": (int,),
    "decimal": (int, float, Decimal),
}

# Safe rewrites of spec regexes that backtrack exponentially in Python's engine; each one
# accepts exactly the same language as the original.
_REGEX_REWRITES = {
    # (\s*([0-9a-zA-Z\+/=]){4}\s*)+ : ambiguous whitespace between groups -> 2^n on failure.
    "base64Binary": r"\s*(?:[0-9a-zA-Z+/=]{4}\s*)+",
}


class CodeSet(frozenset[str]):
    """The codes of one expanded required value set, remembering its canonical ``url``."""

    url: str

    def __new__(cls, url: str, codes: list[str]) -> CodeSet:
        obj = super().__new__(cls, codes)
        obj.url = url
        return obj


class Node:
    """A JSON object shape: property name -> Spec, plus required properties and a flag."""

    __slots__ = ("choice_bases", "elements", "flag", "name", "required")

    def __init__(self, name: str) -> None:
        self.name = name
        self.elements: dict[str, Spec] = {}
        # (display name, alternative property names): at least one must be present.
        self.required: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self.flag = F_PLAIN
        self.choice_bases: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Node({self.name})"


def _calendar_ok(v: str) -> bool:
    """A date/dateTime/instant that matched its regex names a real calendar day."""
    if len(v) < 10 or v[8:10] <= "28":
        return True
    year, month, day = int(v[0:4]), int(v[5:7]), int(v[8:10])
    return day <= calendar.monthrange(year, month)[1]


def _int32(v: int) -> bool:
    return INT32_MIN <= v <= INT32_MAX


def _positive_int32(v: int) -> bool:
    return 1 <= v <= INT32_MAX


def _unsigned_int32(v: int) -> bool:
    return 0 <= v <= INT32_MAX


def _finite(v: float | int | Decimal) -> bool:
    if isinstance(v, Decimal):
        return v.is_finite()
    return type(v) is int or math.isfinite(v)


_EXTRA: dict[str, Callable[[Any], bool]] = {
    "date": _calendar_ok,
    "dateTime": _calendar_ok,
    "instant": _calendar_ok,
    "integer": _int32,
    "positiveInt": _positive_int32,
    "unsignedInt": _unsigned_int32,
    "decimal": _finite,
}


def _primitive_checks(
    name: str, regex: str | None
) -> tuple[tuple[type, ...], Callable[[Any], Any] | None, Callable[[Any], bool] | None]:
    ptypes = _JSON_TYPES.get(name, (str,))
    match: Callable[[Any], Any] | None = None
    if ptypes == (str,):
        if name == "xhtml":
            # Narrative.div: XHTML whose root is a <div> (txt-1/txt-2 are not checked further).
            match = re.compile(r"\s*<div[\s>/][\s\S]*", re.ASCII).fullmatch
        else:
            pattern = _REGEX_REWRITES.get(name, regex or r"[\s\S]+")
            compiled = re.compile(pattern, re.ASCII)
            if compiled.fullmatch("") is not None:
                # JSON format rule: no empty strings, even where the regex allows them (\S*).
                compiled = re.compile(f"(?=[\\s\\S])(?:{pattern})", re.ASCII)
            match = compiled.fullmatch
    return ptypes, match, _EXTRA.get(name)


@cache
def _raw() -> dict[str, Any]:
    blob = (Path(__file__).parent / "definitions" / DEFINITIONS).read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(blob))
    return data


RESOURCE_TYPES: frozenset[str] = frozenset(_raw()["resources"])


def _upper_first(s: str) -> str:
    return s[0].upper() + s[1:]


class _Compiler:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.types: dict[str, list[list[Any]]] = raw["types"]
        self.resources = frozenset(raw["resources"])
        self.prims = {name: _primitive_checks(name, rx) for name, rx in raw["primitives"].items()}
        self.codesets = {url: CodeSet(url, codes) for url, codes in raw["valueSets"].items()}
        self.type_nodes: dict[str, Node] = {}
        self.element = Node("Element")  # the object of a primitive's _name twin
        self.element.elements = {
            "id": self._prim_spec("string", False, None, None),
            "extension": (
                CPLX,
                True,
                None,
                self.type_node("Extension"),
                None,
                None,
                None,
                None,
                "Extension",
            ),
        }

    def _prim_spec(self, tname: str, many: bool, choice: Any, codes: CodeSet | None) -> Spec:
        ptypes, match, extra = self.prims[tname]
        return (PRIM, many, choice, None, ptypes, match, extra, codes, tname)

    def type_node(self, name: str) -> Node:
        node = self.type_nodes.get(name)
        if node is None:
            node = self.type_nodes[name] = Node(name)  # registered first: types recurse
            self._fill(name, node)
        return node

    def _fill(self, type_name: str, root: Node) -> None:
        rows = self.types[type_name]
        groups: dict[str, Node] = {"": root}
        parents = {row[0].rpartition(".")[0] for row in rows}
        for row in rows:  # snapshots list a group before its children
            path, tcodes = row[0], row[1]
            if path in parents and not tcodes.startswith("#"):
                groups[path] = Node(f"{type_name}.{path}")
        required: dict[str, list[tuple[str, tuple[str, ...]]]] = {p: [] for p in groups}
        for path, tcodes, min_, max_, vs_url in rows:
            if max_ == "0":
                continue
            parent, _, name = path.rpartition(".")
            node = groups[parent]
            many = max_ != "1"
            keys: list[str] = []
            if name.endswith("[x]"):
                base = name[:-3]
                node.choice_bases += (base,)
                for tcode in tcodes.split("|"):
                    key = base + _upper_first(tcode)
                    keys += self._add(node, key, tcode, many, (base, key), None, groups, path)
                display = name
            else:
                codes = self.codesets.get(vs_url) if vs_url else None
                keys = self._add(node, name, tcodes, many, None, codes, groups, path)
                display = name
            if min_ >= 1:
                required[parent].append((display, tuple(keys)))
        for p, node in groups.items():
            node.required = tuple(required[p])
        if type_name in self.resources:
            root.elements["resourceType"] = (SKIP, False, None, None, None, None, None, None, "")
        elif type_name == "Extension":
            root.flag = F_EXTENSION
        elif type_name == "Identifier":
            root.flag = F_IDENTIFIER

    def _add(
        self,
        node: Node,
        key: str,
        tcode: str,
        many: bool,
        choice: Any,
        codes: CodeSet | None,
        groups: dict[str, Node],
        path: str,
    ) -> list[str]:
        """Register ``key`` on ``node``; returns the property names that satisfy it."""
        if tcode in self.prims:
            node.elements[key] = self._prim_spec(tcode, many, choice, codes)
            node.elements["_" + key] = (
                PEXT,
                many,
                choice,
                self.element,
                None,
                None,
                None,
                None,
                tcode,
            )
            return [key, "_" + key]
        if tcode == "Resource":
            spec: Spec = (RES, many, choice, None, None, None, None, None, "Resource")
        elif tcode.startswith("#"):
            spec = (CPLX, many, choice, groups[tcode[1:]], None, None, None, None, "Element")
        elif tcode in ("BackboneElement", "Element"):
            sub = groups.get(path) or self.element
            spec = (CPLX, many, choice, sub, None, None, None, None, tcode)
        else:
            spec = (CPLX, many, choice, self.type_node(tcode), None, None, None, None, tcode)
        node.elements[key] = spec
        return [key]


@cache
def _compiled() -> tuple[dict[str, Node], Node]:
    compiler = _Compiler(_raw())
    nodes = {name: compiler.type_node(name) for name in sorted(RESOURCE_TYPES)}
    return nodes, compiler.element


def resource_nodes() -> dict[str, Node]:
    """resourceType -> compiled root node (compiled on first call, then cached)."""
    return _compiled()[0]


def element_node() -> Node:
    """The node for a primitive's ``_name`` object (Element: id, extension)."""
    return _compiled()[1]
