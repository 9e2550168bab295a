#!/usr/bin/env python3
"""Build ``src/fellesjournal/fhir/definitions/r4-structure.json.gz`` from official R4 definitions.

Usage::

    cd /tmp && npm pack hl7.fhir.r4.examples@4.0.1 && tar xzf hl7.fhir.r4.examples-4.0.1.tgz
    python tools/build_r4_definitions.py /tmp/package /path/to/valuesets.json [OUT]

``valuesets.json`` is the spec's ValueSet + CodeSystem bundle (``package/Bundle-valuesets.json``
in the same npm package). ``OUT`` defaults to the product's definitions file.

Output (gzip'd JSON, deterministic: sorted keys, fixed gzip mtime)::

    {
      "fhirVersion": "4.0.1",
      "resources": ["Account", ...],                 # every concrete R4 resource type
      "primitives": {"date": "<regex>", ...},        # every R4 primitive type; regex or null
      "types": {                                     # resources + concrete complex datatypes
        "Patient": [[path, types, min, max, valueSet], ...], ...
      },
      "valueSets": {"<canonical url>": ["code", ...], ...}
    }

Per element: ``path`` is relative to the type (``"contact.name"``, ``"value[x]"``); ``types`` is
the ``|``-joined list of type codes, ``"BackboneElement"``/``"Element"`` for inline groups, or
``"#<path>"`` for a ``contentReference`` (relative path of the group it reuses); ``max`` is
``"1"``, ``"*"`` or ``"0"``; ``valueSet`` is the canonical URL of the REQUIRED binding, only for
``code``-typed elements whose value set could be fully expanded from the bundle (else null):
includes of whole CodeSystems that the bundle holds completely, or explicit concept lists;
no filters. Value sets that include all of BCP-13 (mime types) or ISO 4217 are skipped.
The root ``id`` of a resource is emitted as type ``id`` (the snapshot gives System.String).
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any

FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
DEFAULT_OUT = (
    Path(__file__).resolve().parents[1] / "src/fellesjournal/fhir/definitions/r4-structure.json.gz"
)


def _load_structure_definitions(package: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted(package.glob("StructureDefinition-*.json")):
        sd = json.loads(f.read_text(encoding="utf-8"))
        if sd.get("resourceType") == "StructureDefinition":
            out.append(sd)
    return out


def _type_code(t: dict[str, Any]) -> str:
    code: str = t["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXT:
                return str(ext["valueUrl"])
        return "string"
    return code


def _primitive_regex(sd: dict[str, Any]) -> str | None:
    for el in sd["snapshot"]["element"]:
        if el["path"] == f"{sd['type']}.value":
            for t in el.get("type", []):
                for ext in t.get("extension", []):
                    if ext.get("url") == REGEX_EXT:
                        return str(ext["valueString"])
    return None


class _Expander:
    """Expands ValueSets from the CodeSystems of the bundle; None when not fully possible."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        self.code_systems: dict[str, dict[str, Any]] = {}
        self.value_sets: dict[str, dict[str, Any]] = {}
        for entry in bundle.get("entry", []):
            res = entry.get("resource", {})
            if res.get("resourceType") == "CodeSystem":
                self.code_systems[res["url"]] = res
            elif res.get("resourceType") == "ValueSet":
                self.value_sets[res["url"]] = res
        self._cache: dict[str, frozenset[str] | None] = {}

    def _all_codes(self, system: str) -> set[str] | None:
        cs = self.code_systems.get(system)
        if cs is None or cs.get("content") != "complete":
            return None
        codes: set[str] = set()
        stack = list(cs.get("concept", []))
        while stack:
            c = stack.pop()
            codes.add(c["code"])
            stack.extend(c.get("concept", []))
        return codes

    def _component(self, inc: dict[str, Any], depth: int) -> set[str] | None:
        if inc.get("filter"):
            return None
        result: set[str] | None = None
        if "system" in inc:
            if inc.get("concept"):
                # An enumerated list is a complete expansion even for an external system
                # (e.g. units-of-time lists UCUM codes); when the system is in the bundle,
                # every listed code must exist in it.
                wanted = {c["code"] for c in inc["concept"]}
                known = self._all_codes(inc["system"])
                if known is not None and not wanted <= known:
                    return None
                result = wanted
            else:
                result = self._all_codes(inc["system"])
                if result is None:
                    return None
        for vs_url in inc.get("valueSet", []):
            sub = self.expand(vs_url, depth + 1)
            if sub is None:
                return None
            result = set(sub) if result is None else result & sub
        return result

    def expand(self, url: str, depth: int = 0) -> frozenset[str] | None:
        url = url.split("|", 1)[0]
        if url in self._cache:
            return self._cache[url]
        if depth > 10:
            return None
        vs = self.value_sets.get(url)
        result: frozenset[str] | None = None
        if vs is not None and "compose" in vs:
            codes: set[str] | None = set()
            for inc in vs["compose"].get("include", []):
                part = self._component(inc, depth)
                if part is None or codes is None:
                    codes = None
                    break
                codes |= part
            if codes is not None:
                for exc in vs["compose"].get("exclude", []):
                    part = self._component(exc, depth)
                    if part is None:
                        codes = None
                        break
                    codes -= part
            if codes:
                result = frozenset(codes)
        self._cache[url] = result
        return result


def build(package: Path, valuesets: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The definitions document plus a few statistics (for the log line)."""
    sds = _load_structure_definitions(package)
    expander = _Expander(json.loads(valuesets.read_text(encoding="utf-8")))
    stats = {"required_code_bindings": 0, "expanded": 0, "skipped": 0}
    resources: list[str] = []
    primitives: dict[str, str | None] = {}
    types: dict[str, list[list[Any]]] = {}
    value_sets: dict[str, list[str]] = {}
    skipped: set[str] = set()
    for sd in sds:
        if sd.get("derivation") != "specialization":
            continue
        kind, name = sd["kind"], sd["type"]
        if kind == "primitive-type":
            primitives[name] = _primitive_regex(sd)
            continue
        if kind not in ("resource", "complex-type") or sd.get("abstract"):
            continue
        if kind == "resource":
            resources.append(name)
        elements: list[list[Any]] = []
        for el in sd["snapshot"]["element"][1:]:
            path = el["path"].split(".", 1)[1]
            if "contentReference" in el:
                tcode = "#" + el["contentReference"].lstrip("#").split(".", 1)[1]
                codes = [tcode]
            else:
                codes = [_type_code(t) for t in el.get("type", [])]
            if kind == "resource" and path == "id":
                codes = ["id"]
            vs_url = None
            binding = el.get("binding") or {}
            if codes == ["code"] and binding.get("strength") == "required":
                stats["required_code_bindings"] += 1
                url = str(binding.get("valueSet", "")).split("|", 1)[0]
                expansion = expander.expand(url) if url else None
                if expansion is None:
                    stats["skipped"] += 1
                    skipped.add(url)
                else:
                    stats["expanded"] += 1
                    vs_url = url
                    value_sets[url] = sorted(expansion)
            elements.append([path, "|".join(codes), int(el["min"]), str(el["max"]), vs_url])
        types[name] = elements
    doc = {
        "fhirVersion": "4.0.1",
        "resources": sorted(resources),
        "primitives": dict(sorted(primitives.items())),
        "types": dict(sorted(types.items())),
        "valueSets": dict(sorted(value_sets.items())),
    }
    stats["value_sets"] = len(value_sets)
    stats["skipped_value_sets"] = len(skipped)
    return doc, stats


def write(doc: dict[str, Any], out: Path) -> int:
    """Write ``doc`` gzip'd and byte-for-byte reproducibly; returns the file size."""
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, sort_keys=False)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(raw.encode("utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.getvalue())
    return len(buf.getvalue())


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[3]) if len(argv) == 4 else DEFAULT_OUT
    doc, stats = build(Path(argv[1]), Path(argv[2]))
    size = write(doc, out)
    print(
        f"wrote {out} ({size} bytes): {len(doc['resources'])} resources, "
        f"{len(doc['types']) - len(doc['resources'])} complex types, "
        f"{len(doc['primitives'])} primitives, {stats}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
