"""Search parameter definitions (FHIR R4 4.0.1), loaded from the packaged data.

Contracts
---------
* :func:`load_registry` returns a process-wide cached :class:`Registry` built from
  ``search/data/search-parameters.json.gz`` and ``search/data/CompartmentDefinition-patient.json``
  (never from ``/work/shared``). Loading compiles every FHIRPath expression once; expressions
  outside the supported subset are listed in :attr:`Registry.unsupported` (and logged as one
  warning), they never raise.
* :meth:`Registry.params_for` maps code → :class:`SearchParam` for a resource type: the
  ``Resource`` params (``_id``, ``_lastUpdated``, ``_tag``, ``_profile``, ``_security``,
  ``_source``, ``_query``, ``_content``), ``_text`` for DomainResource types, and the type's own
  params. Unknown resource types give an empty dict. The returned dict is a fresh copy.
* :meth:`Registry.patient_compartment` gives the param codes that put a resource of the type in
  a Patient compartment (``("{def}", "link")`` for Patient itself: ``{def}`` = the Patient is in
  its own compartment); ``()`` when the type is not in the compartment.
* :attr:`Registry.types` is the R4 element :class:`TypeModel` (used by the FHIRPath compiler);
  :meth:`Registry.compiled` / :meth:`Registry.compiled_component` give the compiled expressions
  (``compiled_count`` of ``expression_count`` compile: 1,372 of 1,372 for R4).
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # fhirpath imports TypeModel from here; it is imported lazily below
    from fellesjournal.search.fhirpath import CompiledExpression, FhirPathError

__all__ = ["Registry", "SearchParam", "TypeModel", "Unsupported", "load_registry"]

log = logging.getLogger(__name__)

PRIMITIVE_PARENT = {
    "code": "string",
    "id": "string",
    "markdown": "string",
    "url": "uri",
    "canonical": "uri",
    "oid": "uri",
    "uuid": "uri",
    "positiveInt": "integer",
    "unsignedInt": "integer",
}
PRIMITIVES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)
# Non-choice str elements are all typed "string" by the model, so "string" may stand for these.
_STRINGISH = frozenset(
    {
        "string",
        "code",
        "id",
        "markdown",
        "uri",
        "url",
        "canonical",
        "oid",
        "uuid",
        "base64Binary",
        "xhtml",
    }
)


class TypeModel:
    """FHIR R4 element types: ``types[T] = {"parent": P, "elements": {name: [[key, type, list]]}}``
    (own elements only) and the set of resource type names."""

    def __init__(self, types: Mapping[str, Mapping[str, Any]], resources: Iterable[str]):
        self._parent: dict[str, str | None] = {
            n: (t.get("parent") or None) for n, t in types.items()
        }
        self._own: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
            n: {el: tuple((e[0], e[1]) for e in entries) for el, entries in t["elements"].items()}
            for n, t in types.items()
        }
        self.resources: frozenset[str] = frozenset(resources)
        self._elements: dict[tuple[str, str], tuple[tuple[str, str], ...] | None] = {}
        self._sub: dict[tuple[str, str], bool] = {}
        self._subtypes: dict[str, frozenset[str]] = {}

    def known(self, name: str) -> bool:
        return name in self._own or name in PRIMITIVES

    def element(self, type_name: str, name: str) -> tuple[tuple[str, str], ...] | None:
        """``((json_key, fhir_type), ...)`` of element ``name`` on ``type_name`` (inherited
        included; several entries for a choice element), or None when it has no such element."""
        key = (type_name, name)
        try:
            return self._elements[key]
        except KeyError:
            pass
        t: str | None = type_name
        found = None
        while t is not None and found is None:
            found = self._own.get(t, {}).get(name)
            t = self._parent.get(t)
        self._elements[key] = found
        return found

    def is_subtype(self, t: str | None, of: str) -> bool:
        if t is None:
            return False
        key = (t, of)
        hit = self._sub.get(key)
        if hit is None:
            hit = t == of or (t == "string" and of in _STRINGISH)
            cur: str | None = t
            while not hit and cur is not None:
                cur = self._parent.get(cur) or PRIMITIVE_PARENT.get(cur)
                hit = cur == of
            self._sub[key] = hit
        return hit

    def subtypes(self, of: str) -> frozenset[str]:
        if of not in self._subtypes:
            names = set(self._own) | PRIMITIVES
            self._subtypes[of] = frozenset(n for n in names if self.is_subtype(n, of))
        return self._subtypes[of]


PARAM_TYPES = frozenset(
    {"string", "token", "reference", "date", "number", "quantity", "uri", "composite", "special"}
)


@dataclass(frozen=True, slots=True)
class SearchParam:
    """One SearchParameter definition. ``components`` are ``(component param code, relative
    expression)``; the trailing fields carry the definition's url and optional flags."""

    code: str
    type: str
    base: tuple[str, ...]
    expression: str | None
    targets: tuple[str, ...]
    components: tuple[tuple[str, str], ...]
    url: str = ""
    multiple_or: bool | None = None
    multiple_and: bool | None = None
    comparators: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unsupported:
    """An expression the FHIRPath subset cannot compile (``component`` = component index or
    None for the main expression)."""

    url: str
    code: str
    expression: str
    reason: str
    component: int | None = None


#: Types R4's Patient CompartmentDefinition leaves out that are a patient's record here.
#: A Task (a work item: a referral to assess, a result to acknowledge) names its patient
#: in ``for`` and is as private as the rest of the record; R4 leaves Task out of every
#: compartment, so without this every health worker could read every work item.
COMPARTMENT_ADDITIONS: dict[str, tuple[str, ...]] = {"Task": ("patient",)}


class Registry:
    """Lookup of search parameters per resource type, with compiled expressions."""

    def __init__(self, data: dict[str, Any], patient_compartment: dict[str, Any] | None = None):
        self.types = TypeModel(data["types"], data["resources"])
        self.resource_types: frozenset[str] = frozenset(
            r for r in data["resources"] if r not in ("Resource", "DomainResource")
        )
        self._by_base: dict[str, dict[str, SearchParam]] = {}
        self._params: list[SearchParam] = []
        for item in data["params"]:
            sp = SearchParam(
                code=item["code"],
                type=item["type"],
                base=tuple(item["base"]),
                expression=item.get("expression"),
                targets=tuple(item.get("target", ())),
                components=tuple(
                    (c["definition"], c["expression"]) for c in item.get("component", ())
                ),
                url=item.get("url", ""),
                multiple_or=item.get("multipleOr"),
                multiple_and=item.get("multipleAnd"),
                comparators=tuple(item.get("comparator", ())),
                modifiers=tuple(item.get("modifier", ())),
            )
            self._params.append(sp)
            for base in sp.base:
                self._by_base.setdefault(base, {})[sp.code] = sp
        self._for_type: dict[str, dict[str, SearchParam]] = {}
        self._compartment: dict[str, tuple[str, ...]] = {}
        for entry in (patient_compartment or {}).get("resource", ()):
            if entry.get("param"):
                self._compartment[entry["code"]] = tuple(entry["param"])
        for res_type, params in COMPARTMENT_ADDITIONS.items():
            self._compartment.setdefault(res_type, params)
        if "Patient" in self._compartment:
            self._compartment["Patient"] = ("{def}", *self._compartment["Patient"])
        self._compiled: dict[str, CompiledExpression] = {}
        self._components: dict[tuple[str, int], CompiledExpression] = {}
        self.unsupported: tuple[Unsupported, ...] = self._compile_all()
        if self.unsupported:
            log.warning(
                "search: %d of %d expressions are outside the FHIRPath subset: %s",
                len(self.unsupported),
                self.expression_count,
                ", ".join(f"{u.url} ({u.reason})" for u in self.unsupported),
            )

    # ------------------------------------------------------------------ definitions
    @property
    def params(self) -> tuple[SearchParam, ...]:
        """All definitions, in source order."""
        return tuple(self._params)

    def params_for(self, resource_type: str) -> dict[str, SearchParam]:
        """code → SearchParam for ``resource_type`` (see module docstring)."""
        return dict(self._params_for(resource_type))

    def _params_for(self, resource_type: str) -> dict[str, SearchParam]:
        found = self._for_type.get(resource_type)
        if found is None:
            found = {}
            if resource_type == "Resource":  # system-level search: the common ones
                found.update(self._by_base.get("Resource", {}))
            elif resource_type in self.resource_types:
                found.update(self._by_base.get("Resource", {}))
                if self.types.is_subtype(resource_type, "DomainResource"):
                    found.update(self._by_base.get("DomainResource", {}))
                found.update(self._by_base.get(resource_type, {}))
            self._for_type[resource_type] = found
        return found

    def get(self, resource_type: str, code: str) -> SearchParam | None:
        return self._params_for(resource_type).get(code)

    def patient_compartment(self, resource_type: str) -> tuple[str, ...]:
        return self._compartment.get(resource_type, ())

    # ------------------------------------------------------------------ compiled expressions
    def compiled(self, param: SearchParam) -> CompiledExpression | None:
        """The compiled main expression, or None (no expression, or unsupported)."""
        return self._compiled.get(param.url)

    def compiled_component(self, param: SearchParam, index: int) -> CompiledExpression | None:
        return self._components.get((param.url, index))

    @property
    def expression_count(self) -> int:
        """Number of definitions that have an expression."""
        return sum(1 for p in self._params if p.expression)

    @property
    def compiled_count(self) -> int:
        """Number of definitions whose expression (and components) compiled."""
        bad = {u.url for u in self.unsupported}
        return sum(1 for p in self._params if p.expression and p.url not in bad)

    def _compile_all(self) -> tuple[Unsupported, ...]:
        from fellesjournal.search.fhirpath import FhirPathError, compile_expression

        problems: list[Unsupported] = []
        memo: dict[str, CompiledExpression | FhirPathError] = {}

        def comp(text: str) -> CompiledExpression:
            hit = memo.get(text)
            if hit is None:
                try:
                    hit = compile_expression(text, self.types)
                except FhirPathError as exc:
                    hit = exc
                memo[text] = hit
            if isinstance(hit, FhirPathError):
                raise hit
            return hit

        for p in self._params:
            if not p.expression:
                continue
            try:
                self._compiled[p.url] = comp(p.expression)
            except FhirPathError as exc:
                problems.append(Unsupported(p.url, p.code, p.expression, str(exc)))
                continue
            for i, (_code, expr) in enumerate(p.components):
                try:
                    self._components[(p.url, i)] = comp(expr)
                except FhirPathError as exc:
                    problems.append(Unsupported(p.url, p.code, expr, str(exc), i))
        return tuple(problems)


def _read_data(name: str) -> bytes:
    return resources.files("fellesjournal.search").joinpath("data", name).read_bytes()


@cache
def load_registry() -> Registry:
    """The packaged R4 registry (cached per process)."""
    data = json.loads(gzip.decompress(_read_data("search-parameters.json.gz")))
    # National search parameters (HL7 Norway no-basis) beside the 1,375 of R4 core.
    data["params"] = (
        data["params"] + json.loads(_read_data("no-basis-search-parameters.json"))["params"]
    )
    # Fellesjournal's own: work items (Task) by due date and by who has taken them.
    data["params"] += json.loads(_read_data("fellesjournal-search-parameters.json"))["params"]
    compartment = json.loads(_read_data("CompartmentDefinition-patient.json"))
    return Registry(data, compartment)
