"""Compiler for the FHIRPath subset used by the FHIR R4 SearchParameter expressions.

An expression is parsed once and compiled into nested Python closures. Evaluation works on
*nodes*: ``(value, fhir_type)`` pairs where ``value`` is the parsed JSON (dict, str, bool, int,
float) and ``fhir_type`` the FHIR type name (``"Quantity"``, ``"dateTime"``, ``"Observation"``,
fhirclient backbone names such as ``"ObservationComponent"``) or ``None`` when unknown. Types
come from the :class:`~fellesjournal.search.registry.TypeModel` shipped with the search data,
so ``Observation.value`` knows to probe ``valueQuantity``, ``valueString``, ... and tags each
result with its concrete type.

Supported: paths (``A.b.c``), a leading type name as a filter (``Observation.code``,
``Resource.meta.tag``), ``|``, ``=``/``!=``, ``and``/``or``/``xor``/``implies``, ``is``/``as``
(operators and functions), ``ofType()``, ``where()``, ``select()``, ``exists()``, ``empty()``,
``not()``, ``first()``, ``last()``, ``count()``, ``distinct()``, ``hasValue()``, ``[n]``,
``extension('url')``, ``resolve()`` (for type tests such as ``where(resolve() is Patient)``;
it yields the Reference itself tagged with the referenced type, or the contained resource for
``#id``), string/number/boolean literals, ``{}``, ``$this``, ``%resource``/``%rootResource``/
``%context`` (the root resource). Everything else raises :class:`FhirPathError` at *compile*
time, never at evaluation time; evaluation is total for any JSON input (malformed shapes give
empty results). Deviation: ``|`` removes duplicates by identity for objects and by value for
primitives; comparisons (``<``...), arithmetic and date literals are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fellesjournal.search.registry import PRIMITIVES, TypeModel

__all__ = [
    "Branch",
    "CompiledExpression",
    "FhirPathError",
    "Node",
    "TypeModel",
    "compile_expression",
    "split_reference",
]

Node = tuple[Any, "str | None"]
Fn = Callable[[list[Node], Any], list[Node]]


class FhirPathError(ValueError):
    """Syntax error, or a construct outside the supported subset (raised at compile time)."""


_SYSTEM_TYPES = {
    "String": "string",
    "Boolean": "boolean",
    "Integer": "integer",
    "Decimal": "decimal",
    "Date": "date",
    "DateTime": "dateTime",
    "Time": "time",
}
_ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def canonical_type(name: str) -> str:
    """``FHIR.Quantity``→``Quantity``, ``System.String``→``string``, ``DateTime``→``dateTime``."""
    if name.startswith("System."):
        return _SYSTEM_TYPES.get(name[7:], name[7:])
    if name.startswith("FHIR."):
        name = name[5:]
    low = name[:1].lower() + name[1:]
    return low if low in PRIMITIVES else name


def split_reference(ref: str, resource_types: frozenset[str]) -> tuple[str | None, str | None]:
    """``(type, id)`` of a literal reference ``Type/id``, ``Type/id/_history/v`` or an absolute
    URL ending in ``Type/id`` (a canonical ``|version`` is ignored); ``(None, None)`` otherwise."""
    if "://" in ref:
        ref = ref.split("|", 1)[0]
    elif ref.startswith(("#", "urn:")):
        return None, None
    parts = ref.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and (len(parts) == 2 or "://" in ref):
        rtype, rid = parts[-2], parts[-1]
        if rtype in resource_types and _ID_RE.fullmatch(rid):
            return rtype, rid
    return None, None


# ----------------------------------------------------------------------------- parsing
_TOKEN_RE = re.compile(
    r"\s+|//[^\n]*|/\*.*?\*/"
    r"|(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<id>[A-Za-z_]\w*|`[^`]*`)"
    r"|(?P<var>[%$](?:[A-Za-z_]\w*|`[^`]*`|'[^']*'))"
    r"|(?P<op><=|>=|!=|!~|[.()\[\]|=~<>,+\-*/&{}])",
    re.S | re.ASCII,
)
_PREC = {
    "implies": 1,
    "or": 2,
    "xor": 2,
    "and": 3,
    "in": 4,
    "contains": 4,
    "=": 5,
    "~": 5,
    "!=": 5,
    "!~": 5,
    "<": 6,
    ">": 6,
    "<=": 6,
    ">=": 6,
    "|": 7,
    "is": 8,
    "as": 8,
    "+": 9,
    "-": 9,
    "&": 9,
    "*": 10,
    "/": 10,
    "div": 10,
    "mod": 10,
}
_WORD_OPS = {"implies", "or", "xor", "and", "in", "contains", "is", "as", "div", "mod"}
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "f": "\f",
    "'": "'",
    '"': '"',
    "`": "`",
    "/": "/",
    "\\": "\\",
}


def _unescape(s: str) -> str:
    return re.sub(
        r"\\(u[0-9a-fA-F]{4}|.)",
        lambda m: (
            chr(int(m.group(1)[1:], 16))
            if len(m.group(1)) == 5
            else _ESCAPES.get(m.group(1), m.group(1))
        ),
        s,
    )


def _tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise FhirPathError(f"unexpected character {text[pos]!r} at {pos} in {text!r}")
        pos = m.end()
        if m.lastgroup:
            val = m.group(m.lastgroup)
            if m.lastgroup == "str":
                val = _unescape(val[1:-1])
            elif m.lastgroup == "id" and val.startswith("`"):
                val = val[1:-1]
            out.append((m.lastgroup, val))
    out.append(("end", ""))
    return out


class _Parser:
    """Pratt parser producing tuple ASTs: ('lit', v, type) ('empty',) ('ident', n)
    ('member', tgt, n) ('call', tgt|None, n, args) ('index', tgt, ast) ('var', n)
    ('bin', op, l, r) ('is'|'as', l, type)."""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def parse(self) -> tuple:
        node = self.expr(0)
        if self.toks[self.i][0] != "end":
            raise FhirPathError(f"unexpected {self.toks[self.i][1]!r} in {self.text!r}")
        return node

    def take(self, kind: str, value: str | None = None) -> str:
        k, v = self.toks[self.i]
        if k != kind or (value is not None and v != value):
            raise FhirPathError(f"expected {value or kind!r}, got {v!r} in {self.text!r}")
        self.i += 1
        return v

    def expr(self, min_prec: int) -> tuple:
        left = self.unary()
        while True:
            k, v = self.toks[self.i]
            if not ((k == "op" and v in _PREC) or (k == "id" and v in _WORD_OPS)):
                return left
            prec = _PREC[v]
            if prec <= min_prec:
                return left
            self.i += 1
            if v in ("is", "as"):
                left = (v, left, self.type_spec())
            else:
                left = ("bin", v, left, self.expr(prec))

    def type_spec(self) -> str:
        name = self.take("id")
        while self.toks[self.i] == ("op", ".") and self.toks[self.i + 1][0] == "id":
            self.i += 1
            name += "." + self.take("id")
        return canonical_type(name)

    def unary(self) -> tuple:
        k, v = self.toks[self.i]
        if k == "op" and v in "+-" and self.toks[self.i + 1][0] == "num":
            self.i += 1
            node = self.postfix(self.term())
            return ("lit", -node[1], node[2]) if v == "-" and node[0] == "lit" else node
        return self.postfix(self.term())

    def postfix(self, node: tuple) -> tuple:
        while True:
            k, v = self.toks[self.i]
            if (k, v) == ("op", "."):
                self.i += 1
                name = self.take("id")
                if self.toks[self.i] == ("op", "("):
                    node = ("call", node, name, self.args())
                else:
                    node = ("member", node, name)
            elif (k, v) == ("op", "["):
                self.i += 1
                node = ("index", node, self.expr(0))
                self.take("op", "]")
            else:
                return node

    def args(self) -> list[tuple]:
        self.take("op", "(")
        args: list[tuple] = []
        while self.toks[self.i] != ("op", ")"):
            args.append(self.expr(0))
            if self.toks[self.i] == ("op", ","):
                self.i += 1
        self.take("op", ")")
        return args

    def term(self) -> tuple:
        k, v = self.toks[self.i]
        self.i += 1
        if k == "str":
            return ("lit", v, "string")
        if k == "num":
            return ("lit", float(v), "decimal") if "." in v else ("lit", int(v), "integer")
        if k == "var":
            return ("var", v)
        if k == "id":
            if v in ("true", "false"):
                return ("lit", v == "true", "boolean")
            if self.toks[self.i] == ("op", "("):
                return ("call", None, v, self.args())
            return ("ident", v)
        if (k, v) == ("op", "("):
            node = self.expr(0)
            self.take("op", ")")
            return node
        if (k, v) == ("op", "{"):
            self.take("op", "}")
            return ("empty",)
        raise FhirPathError(f"unexpected {v!r} in {self.text!r}")


# ----------------------------------------------------------------------------- compiling
@dataclass(slots=True)
class _Piece:
    fn: Fn | None  # None = identity
    types: frozenset[str] | None  # static result types (None = unknown/dynamic)
    keys: frozenset[str] | None = None  # result is empty unless the context has one of these keys
    through: bool = False  # result is a subset of the input collection
    root: str | None = None  # leading type filter


@dataclass(frozen=True, slots=True)
class Branch:
    """One top-level ``|`` alternative: ``fn(nodes, root_resource) -> nodes``; ``root`` is the
    leading type name (None = any); ``keys`` gates evaluation (empty result unless the resource
    has one of these top-level keys; None = always evaluate). ``typed`` is ``fn`` without the
    leading type filter, valid only for input of type ``root`` (or a subtype)."""

    root: str | None
    keys: frozenset[str] | None
    fn: Fn
    types: frozenset[str] | None
    typed: Fn


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    expression: str
    branches: tuple[Branch, ...]

    def evaluate(self, resource: dict[str, Any]) -> list[Node]:
        """Evaluate on a resource (which is also ``%resource``)."""
        return self.evaluate_nodes([(resource, resource.get("resourceType"))], resource)

    def evaluate_nodes(self, nodes: list[Node], root: Any) -> list[Node]:
        if len(self.branches) == 1:
            return self.branches[0].fn(nodes, root)
        return _dedupe([n for b in self.branches for n in b.fn(nodes, root)])


def _dedupe(nodes: list[Node]) -> list[Node]:
    seen: set[Any] = set()
    out: list[Node] = []
    for n in nodes:
        v = n[0]
        k = id(v) if isinstance(v, dict | list) else (type(v), v)
        if k not in seen:
            seen.add(k)
            out.append(n)
    return out


def _truth(nodes: list[Node]) -> bool | None:
    if not nodes:
        return None
    if len(nodes) == 1 and type(nodes[0][0]) is bool:
        return bool(nodes[0][0])
    return True


def _eq(a: Any, b: Any) -> bool:
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return bool(a == b)


def _bool_node(v: bool | None) -> list[Node]:
    return [] if v is None else [(v, "boolean")]


def _make_step(entries: tuple[tuple[str, str | None], ...]) -> Fn:
    """Navigation step reading ``json_key`` of each dict node, tagging results with the type
    (``"Resource"`` entries are tagged with the value's own ``resourceType``)."""
    if len(entries) == 1 and entries[0][1] != "Resource":
        key, typ = entries[0]

        def step1(nodes: list[Node], root: Any) -> list[Node]:
            out: list[Node] = []
            for v, _t in nodes:
                if type(v) is dict:
                    x = v.get(key)
                    if x is not None:
                        if type(x) is list:
                            out.extend([(i, typ) for i in x])
                        else:
                            out.append((x, typ))
            return out

        return step1

    def stepn(nodes: list[Node], root: Any) -> list[Node]:
        out: list[Node] = []
        for v, _t in nodes:
            if type(v) is dict:
                for key, typ in entries:
                    x = v.get(key)
                    if x is not None:
                        for i in x if type(x) is list else (x,):
                            if typ == "Resource" and type(i) is dict:
                                out.append((i, i.get("resourceType")))
                            else:
                                out.append((i, typ))
        return out

    return stepn


class _Compiler:
    def __init__(self, model: TypeModel):
        self.m = model

    def compile(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        kind = ast[0]
        method = getattr(self, "c_" + kind, None)
        if method is None:
            raise FhirPathError(f"unsupported construct {kind!r}")
        piece: _Piece = method(ast, ctx)
        return piece

    def chain(self, tgt: _Piece, f: Callable[[list[Node], Any], list[Node]]) -> Fn:
        g = tgt.fn
        if g is None:
            return f
        return lambda nodes, root: f(g(nodes, root), root)

    def c_lit(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        const: list[Node] = [(ast[1], ast[2])]
        return _Piece(lambda nodes, root: list(const), frozenset({ast[2]}))

    def c_empty(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        return _Piece(lambda nodes, root: [], frozenset())

    def c_var(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        name = ast[1]
        if name == "$this":
            return _Piece(None, ctx, through=True)
        if name in ("%resource", "%rootResource", "%context"):
            return _Piece(
                lambda nodes, root: (
                    [(root, root.get("resourceType"))] if type(root) is dict else []
                ),
                None,
            )
        raise FhirPathError(f"unsupported variable {name}")

    def c_ident(self, ast: tuple, ctx: frozenset[str] | None, only: str | None = None) -> _Piece:
        name = ast[1]
        if name[:1].isupper() and self.m.known(name):
            accepted = self.m.subtypes(name)
            return _Piece(
                lambda nodes, root: [n for n in nodes if n[1] in accepted],
                frozenset({name}),
                through=True,
                root=name,
            )
        return self.member(_Piece(None, ctx, through=True), name, only)

    def c_member(self, ast: tuple, ctx: frozenset[str] | None, only: str | None = None) -> _Piece:
        return self.member(self.compile(ast[1], ctx), ast[2], only)

    def narrow(self, entries: Iterable[tuple[str, str]], only: str | None) -> tuple:
        """Keep the choice entries of type ``only``: exact matches, else subtypes."""
        ents = tuple(entries)
        if only is None:
            return ents
        exact = tuple(e for e in ents if e[1] == only)
        return exact or tuple(e for e in ents if self.m.is_subtype(e[1], only))

    def dyn_step(self, t: str | None, name: str, only: str | None) -> Fn | None:
        if t is None:
            return _make_step(((name, None),))
        found = self.m.element(t, name)
        if found is None:
            # a type unknown to the model: read the plain key; a known type without it: empty
            return None if self.m.known(t) else _make_step(((name, None),))
        ents = self.narrow(found, only)
        return _make_step(ents) if ents else None

    def member(self, tgt: _Piece, name: str, only: str | None) -> _Piece:
        if tgt.types is None:
            steps: dict[str | None, Fn | None] = {}

            def dyn(nodes: list[Node], root: Any) -> list[Node]:
                out: list[Node] = []
                for n in nodes:
                    t = n[1]
                    try:
                        st = steps[t]
                    except KeyError:
                        st = steps[t] = self.dyn_step(t, name, only)
                    if st is not None:
                        out.extend(st([n], root))
                return out

            return _Piece(self.chain(tgt, dyn), None, tgt.keys, False, tgt.root)
        entries: dict[tuple[str, str], None] = {}
        for t in sorted(tgt.types):
            for e in self.m.element(t, name) or ():
                entries[e] = None
        if not entries and not all(t in PRIMITIVES for t in tgt.types):
            raise FhirPathError(f"{name!r} is not an element of {sorted(tgt.types)}")
        ents = self.narrow(entries, only)
        keys = frozenset(e[0] for e in ents) if tgt.through else tgt.keys
        types = None if any(e[1] == "Resource" for e in ents) else frozenset(e[1] for e in ents)
        return _Piece(self.chain(tgt, _make_step(ents)), types, keys, False, tgt.root)

    def c_index(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        tgt = self.compile(ast[1], ctx)
        if ast[2][0] != "lit" or type(ast[2][1]) is not int:
            raise FhirPathError("only integer literal indexes are supported")
        i = ast[2][1]
        return _Piece(
            self.chain(tgt, lambda nodes, root: nodes[i : i + 1]),
            tgt.types,
            tgt.keys,
            tgt.through,
            tgt.root,
        )

    def c_is(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        tgt, typ, m = self.compile(ast[1], ctx), ast[2], self.m
        return _Piece(
            self.chain(
                tgt,
                lambda nodes, root: (
                    _bool_node(m.is_subtype(nodes[0][1], typ)) if len(nodes) == 1 else []
                ),
            ),
            frozenset({"boolean"}),
        )

    def c_as(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        return self.cast(ast[1], ast[2], ctx)

    def cast(self, operand: tuple, typ: str, ctx: frozenset[str] | None) -> _Piece:
        if operand[0] == "member":
            return self.c_member(operand, ctx, only=typ)  # probe only the matching choice keys
        if operand[0] == "ident" and not (operand[1][:1].isupper() and self.m.known(operand[1])):
            return self.c_ident(operand, ctx, only=typ)
        tgt, m = self.compile(operand, ctx), self.m
        types = (
            None
            if tgt.types is None
            else frozenset(t for t in tgt.types if m.is_subtype(t, typ)) or frozenset({typ})
        )
        return _Piece(
            self.chain(
                tgt,
                lambda nodes, root: [
                    n if n[1] is not None else (n[0], typ)
                    for n in nodes
                    if n[1] is None or m.is_subtype(n[1], typ)
                ],
            ),
            types,
            tgt.keys,
            tgt.through,
            tgt.root,
        )

    def c_bin(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        op, lp, rp = ast[1], self.compile(ast[2], ctx), self.compile(ast[3], ctx)
        lf, rf = lp.fn or _identity, rp.fn or _identity
        root = lp.root if lp.root == rp.root else None
        if op == "|":
            keys = None if lp.keys is None or rp.keys is None else lp.keys | rp.keys
            types = None if lp.types is None or rp.types is None else lp.types | rp.types
            return _Piece(
                lambda nodes, r: _dedupe(lf(nodes, r) + rf(nodes, r)),
                types,
                keys,
                lp.through and rp.through,
                root,
            )
        if op in ("=", "!="):
            neg = op == "!="

            def eq(nodes: list[Node], r: Any) -> list[Node]:
                a, b = lf(nodes, r), rf(nodes, r)
                if not a or not b:
                    return []
                same = len(a) == len(b) and all(_eq(x[0], y[0]) for x, y in zip(a, b, strict=True))
                return [(same != neg, "boolean")]

            return _Piece(eq, frozenset({"boolean"}), root=root)
        logic = _LOGIC.get(op)
        if logic is None:
            raise FhirPathError(f"unsupported operator {op!r}")
        return _Piece(
            lambda nodes, r: _bool_node(logic(_truth(lf(nodes, r)), _truth(rf(nodes, r)))),
            frozenset({"boolean"}),
            root=root,
        )

    def c_call(self, ast: tuple, ctx: frozenset[str] | None) -> _Piece:
        _, target, name, args = ast
        if name in ("as", "ofType") and len(args) == 1:
            return self.cast(
                target if target is not None else ("var", "$this"), _type_arg(args[0]), ctx
            )
        tgt = self.compile(target, ctx) if target is not None else _Piece(None, ctx, through=True)
        if name == "is" and len(args) == 1:
            return self.c_is(("is", target or ("var", "$this"), _type_arg(args[0])), ctx)
        if name == "where" and len(args) == 1:
            crit = args[0]
            if crit[0] == "is" and crit[1] == ("call", None, "resolve", []):
                accepted = self.m.subtypes(crit[2])
                resources = self.m.resources

                def where_ref(nodes: list[Node], root: Any) -> list[Node]:
                    return [n for n in nodes if _resolve(n, root, resources)[1] in accepted]

                f: Fn = where_ref
            else:
                cond = self.compile(crit, tgt.types)
                cf = cond.fn or _identity
                f = lambda nodes, root: [n for n in nodes if _truth(cf([n], root))]  # noqa: E731
            return _Piece(self.chain(tgt, f), tgt.types, tgt.keys, tgt.through, tgt.root)
        if name == "select" and len(args) == 1:
            proj = self.compile(args[0], tgt.types)
            pf = proj.fn or _identity
            return _Piece(
                self.chain(tgt, lambda nodes, root: [x for n in nodes for x in pf([n], root)]),
                proj.types,
                tgt.keys,
                False,
                tgt.root,
            )
        if name == "extension" and len(args) == 1 and args[0][0] == "lit":
            url = args[0][1]
            ext = _make_step((("extension", "Extension"),))
            keys = frozenset({"extension"}) if tgt.through else tgt.keys
            return _Piece(
                self.chain(
                    tgt,
                    lambda nodes, root: [
                        e for e in ext(nodes, root) if type(e[0]) is dict and e[0].get("url") == url
                    ],
                ),
                frozenset({"Extension"}),
                keys,
                False,
                tgt.root,
            )
        if name == "resolve" and not args:
            resources = self.m.resources
            return _Piece(
                self.chain(
                    tgt,
                    lambda nodes, root: [
                        r for r in (_resolve(n, root, resources) for n in nodes) if r[1] is not None
                    ],
                ),
                None,
                tgt.keys,
                False,
                tgt.root,
            )
        simple = _SIMPLE.get(name)
        if simple is None or args:
            raise FhirPathError(f"unsupported function {name}({len(args)} args)")
        fn, types, keeps = simple
        if keeps:
            return _Piece(self.chain(tgt, fn), tgt.types, tgt.keys, tgt.through, tgt.root)
        return _Piece(self.chain(tgt, fn), types)


def _type_arg(arg: tuple) -> str:
    if arg[0] == "ident":
        return canonical_type(arg[1])
    if arg[0] == "member" and arg[1][0] == "ident":
        return canonical_type(f"{arg[1][1]}.{arg[2]}")
    raise FhirPathError("expected a type name")


def _resolve(n: Node, root: Any, resources: frozenset[str]) -> Node:
    """Reference → (reference, target type); '#id' → the contained resource; canonical str →
    (str, type from URL); a resource → itself. Type None when it cannot be determined."""
    v = n[0]
    if type(v) is dict:
        if "resourceType" in v:
            return v, v["resourceType"]
        ref = v.get("reference")
        if type(ref) is str:
            if ref.startswith("#") and type(root) is dict:
                for c in root.get("contained") or ():
                    if type(c) is dict and c.get("id") == ref[1:]:
                        return c, c.get("resourceType")
                return v, None
            rtype = _split_cached(ref, resources)[0]
            if rtype is not None:
                return v, rtype
        t = v.get("type")
        return v, (t if type(t) is str and t in resources else None)
    if type(v) is str:
        return v, _split_cached(v, resources)[0]
    return v, None


_split_cached = lru_cache(maxsize=65536)(split_reference)


# three-valued logic on (True, False, None = empty)
_LOGIC: dict[str, Callable[[bool | None, bool | None], bool | None]] = {
    "and": lambda a, b: False if a is False or b is False else (True if a and b else None),
    "or": lambda a, b: True if a or b else (False if a is False and b is False else None),
    "xor": lambda a, b: None if a is None or b is None else a != b,
    "implies": lambda a, b: (
        True if a is False or b is True else (False if a is True and b is False else None)
    ),
}
_BOOL = frozenset({"boolean"})
_SIMPLE: dict[str, tuple[Fn, frozenset[str], bool]] = {
    # name: (fn, result types, keeps subset semantics of the input)
    "exists": (lambda nodes, root: [(bool(nodes), "boolean")], _BOOL, False),
    "empty": (lambda nodes, root: [(not nodes, "boolean")], _BOOL, False),
    "not": (
        lambda nodes, root: _bool_node(None if (t := _truth(nodes)) is None else not t),
        _BOOL,
        False,
    ),
    "hasValue": (
        lambda nodes, root: [(len(nodes) == 1 and type(nodes[0][0]) is not dict, "boolean")],
        _BOOL,
        False,
    ),
    "count": (lambda nodes, root: [(len(nodes), "integer")], frozenset({"integer"}), False),
    "first": (lambda nodes, root: nodes[:1], frozenset(), True),
    "last": (lambda nodes, root: nodes[-1:], frozenset(), True),
    "distinct": (lambda nodes, root: _dedupe(nodes), frozenset(), True),
}


def compile_expression(
    text: str, model: TypeModel, context_types: frozenset[str] | None = None
) -> CompiledExpression:
    """Compile ``text``; raise :class:`FhirPathError` when it is outside the subset.
    ``context_types`` are the static types of the input collection (None = dynamic)."""
    ast = _Parser(text).parse()
    alternatives: list[tuple] = []

    def flatten(a: tuple) -> None:
        if a[0] == "bin" and a[1] == "|":
            flatten(a[2])
            flatten(a[3])
        else:
            alternatives.append(a)

    flatten(ast)
    comp = _Compiler(model)
    branches = []
    for alt in alternatives:
        p = comp.compile(alt, context_types)
        fn: Fn = p.fn or _identity
        typed = fn
        if p.root is not None:
            typed = comp.compile(_strip_root(alt, p.root), frozenset({p.root})).fn or _identity
        branches.append(Branch(p.root, None if p.through else p.keys, fn, p.types, typed))
    return CompiledExpression(text, tuple(branches))


def _identity(nodes: list[Node], root: Any) -> list[Node]:
    return nodes


def _strip_root(a: tuple, name: str) -> tuple:
    """Replace the leading type filter ``name`` of each path in ``a`` by ``$this``."""
    k = a[0]
    if k == "ident" and a[1] == name:
        return ("var", "$this")
    if k in ("member", "index", "is", "as") or (k == "call" and a[1] is not None):
        return (k, _strip_root(a[1], name), *a[2:])
    if k == "bin":
        return ("bin", a[1], _strip_root(a[2], name), _strip_root(a[3], name))
    return a
