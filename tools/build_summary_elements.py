"""Write ``src/fellesjournal/fhir/definitions/r4-summary.json``: per resource type, the
top-level elements marked ``isSummary`` in the official R4 StructureDefinitions, and the
mandatory ones (min >= 1), for ``_summary=true`` and ``_summary=text``.

Usage: python tools/build_summary_elements.py PATH/TO/package (npm hl7.fhir.r4.examples 4.0.1)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/fellesjournal/fhir/definitions/r4-summary.json"


def main(package: Path) -> None:
    summary: dict[str, list[str]] = {}
    mandatory: dict[str, list[str]] = {}
    for path in sorted(package.glob("StructureDefinition-*.json")):
        sd = json.loads(path.read_text())
        if sd.get("kind") != "resource" or sd.get("derivation") != "specialization":
            continue
        name = sd["type"]
        s, m = [], []
        for el in sd["snapshot"]["element"]:
            parts = el["path"].split(".")
            if len(parts) != 2:
                continue
            key = parts[1].replace("[x]", "")
            if el.get("isSummary"):
                s.append(key)
            if el.get("min", 0) >= 1:
                m.append(key)
        summary[name] = s
        mandatory[name] = m
    OUT.write_text(
        json.dumps(
            {"summary": summary, "mandatory": mandatory}, sort_keys=True, separators=(",", ":")
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
