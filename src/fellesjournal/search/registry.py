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
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from fellesjournal.search.fhirpath import (
    CompiledExpression,
    FhirPathError,
    TypeModel,
    compile_expression,
)

__all__ = ["SearchParam", "Registry", "Unsupported", "load_registry"]

log = logging.getLogger(__name__)

PARAM_TYPES = frozenset({"string", "token", "reference", "date", "number", "quantity", "uri",
                         "composite", "special"})


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


class Registry:
    """Lookup of search parameters per resource type, with compiled expressions."""

    def __init__(self, data: dict[str, Any], patient_compartment: dict[str, Any] | None = None):
        self.types = TypeModel(data["types"], data["resources"])
        self.resource_types: frozenset[str] = frozenset(
            r for r in data["resources"] if r not in ("Resource", "DomainResource"))
        self._by_base: dict[str, dict[str, SearchParam]] = {}
        self._params: list[SearchParam] = []
        for item in data["params"]:
            sp = SearchParam(
                code=item["code"], type=item["type"], base=tuple(item["base"]),
                expression=item.get("expression"), targets=tuple(item.get("target", ())),
                components=tuple((c["definition"], c["expression"])
                                 for c in item.get("component", ())),
                url=item.get("url", ""), multiple_or=item.get("multipleOr"),
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
        if "Patient" in self._compartment:
            self._compartment["Patient"] = ("{def}", *self._compartment["Patient"])
        self._compiled: dict[str, CompiledExpression] = {}
        self._components: dict[tuple[str, int], CompiledExpression] = {}
        self.unsupported: tuple[Unsupported, ...] = self._compile_all()
        if self.unsupported:
            log.warning("search: %d of %d expressions are outside the FHIRPath subset: %s",
                        len(self.unsupported), self.expression_count,
                        ", ".join(f"{u.url} ({u.reason})" for u in self.unsupported))

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
            if resource_type in self.resource_types:
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
    compartment = json.loads(_read_data("CompartmentDefinition-patient.json"))
    return Registry(data, compartment)
