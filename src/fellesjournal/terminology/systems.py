"""The code systems the server knows, their URLs, aliases and implicit value sets.

Contracts
---------
* :data:`ICD10_NO` and :data:`ICPC2` are the canonical system URLs (domain brief §4.6);
  every answer uses them. Inputs may also use the OIDs listed as aliases.
* :func:`system_info` maps a system URL or alias to its :class:`SystemInfo`, else ``None``.
* :func:`value_set_info` maps a value set URL to the code system it contains in full: the
  FHIR implicit form ``<system>?fhir_vs`` (https://hl7.org/fhir/R4/valueset.html#csvs)
  or the system URL itself, optionally with ``|version`` (which must then match).
* :func:`canonical_code` writes a code the way the list does: for ICD-10-NO a dot after
  the third character is dropped (``A00.0`` → ``A000``); nothing else is changed, codes
  stay case-sensitive.
"""

from __future__ import annotations

from dataclasses import dataclass

ICD10_NO = "http://hl7.org/fhir/sid/icd-10-no"
ICPC2 = "http://hl7.org/fhir/sid/icpc-2"
IMPLICIT_VS_SUFFIX = "?fhir_vs"


@dataclass(frozen=True, slots=True)
class SystemInfo:
    url: str
    name: str
    """A computer-friendly name (``$lookup`` output ``name``)."""
    title: str
    version: str
    aliases: tuple[str, ...]
    data_file: str
    """The packaged code list in ``terminology/data/``."""
    dotted: bool
    """Codes may be written with a dot after the third character (ICD-10 style)."""

    @property
    def value_set(self) -> str:
        """The implicit value set of all codes of this system."""
        return self.url + IMPLICIT_VS_SUFFIX


SYSTEMS: tuple[SystemInfo, ...] = (
    SystemInfo(
        url=ICD10_NO,
        name="ICD10NO",
        title="ICD-10 (norsk utgave)",
        version="2026",
        aliases=("urn:oid:2.16.578.1.12.4.1.1.7110",),
        data_file="icd-10-no.json.gz",
        dotted=True,
    ),
    SystemInfo(
        url=ICPC2,
        name="ICPC2",
        title="ICPC-2 (norsk utgave)",
        version="2026",
        # HL7's OID for ICPC-2, and the legacy Volven code system 7170
        aliases=("urn:oid:2.16.840.1.113883.6.139", "urn:oid:2.16.578.1.12.4.1.1.7170"),
        data_file="icpc-2.json.gz",
        dotted=False,
    ),
)

_BY_URL: dict[str, SystemInfo] = {
    url: info for info in SYSTEMS for url in (info.url, *info.aliases)
}


def system_info(url: str | None) -> SystemInfo | None:
    """The code system named by ``url`` (canonical URL or an alias), else ``None``."""
    if url is None:
        return None
    return _BY_URL.get(url)


def value_set_info(url: str | None) -> SystemInfo | None:
    """The code system whose implicit "all codes" value set ``url`` names, else ``None``."""
    if url is None:
        return None
    url, _, version = url.partition("|")
    info = system_info(url.removesuffix(IMPLICIT_VS_SUFFIX))
    if info is None or (version and version != info.version):
        return None
    return info


def canonical_code(info: SystemInfo, code: str) -> str:
    """``code`` as the code list writes it (see the module docstring)."""
    if info.dotted and len(code) > 4 and code[3] == ".":
        return code[:3] + code[4:]
    return code
