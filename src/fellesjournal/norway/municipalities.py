"""Municipality numbers (kommunenummer) for the two counties the record serves.

A kommunenummer is four digits: the two-digit county number followed by a two-digit
number within the county, always written with its leading zero. The lists below are the
current (post-2024) municipalities of Møre og Romsdal (county 15) and Trøndelag
(county 50), as given in ``docs/domain.md`` §4.3, which took them from
``navikt/paw-arbeidssoekerregisteret-for-personbruker`` and asks for a cross-check against
SSB Klass 131 before production use. There is no national list here: numbers from other
counties can only be checked for their format.

Contract:

* :data:`MUNICIPALITIES` maps every current code in the served counties to its name.
* :data:`RETIRED` maps codes that are known to have gone out of use to a sentence saying
  what replaced them. Only changes named in domain.md are listed.
* :func:`name` and :func:`county` never raise; they return ``None`` when they do not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

#: County numbers served by the record, with their names.
COUNTIES: Final[Mapping[str, str]] = MappingProxyType({"15": "Møre og Romsdal", "50": "Trøndelag"})

#: Møre og Romsdal, 27 municipalities (2024: Haram re-established, Ålesund 1507 → 1508).
MORE_OG_ROMSDAL: Final[Mapping[str, str]] = MappingProxyType(
    {
        "1505": "Kristiansund",
        "1506": "Molde",
        "1508": "Ålesund",
        "1511": "Vanylven",
        "1514": "Sande",
        "1515": "Herøy (Møre og Romsdal)",
        "1516": "Ulstein",
        "1517": "Hareid",
        "1520": "Ørsta",
        "1525": "Stranda",
        "1528": "Sykkylven",
        "1531": "Sula",
        "1532": "Giske",
        "1535": "Vestnes",
        "1539": "Rauma",
        "1547": "Aukra",
        "1554": "Averøy",
        "1557": "Gjemnes",
        "1560": "Tingvoll",
        "1563": "Sunndal",
        "1566": "Surnadal",
        "1573": "Smøla",
        "1576": "Aure",
        "1577": "Volda",
        "1578": "Fjord",
        "1579": "Hustadvika",
        "1580": "Haram",
    }
)

#: Trøndelag, 38 municipalities (unchanged by the 2024 county split).
TRONDELAG: Final[Mapping[str, str]] = MappingProxyType(
    {
        "5001": "Trondheim",
        "5006": "Steinkjer",
        "5007": "Namsos",
        "5014": "Frøya",
        "5020": "Osen",
        "5021": "Oppdal",
        "5022": "Rennebu",
        "5025": "Røros",
        "5026": "Holtålen",
        "5027": "Midtre Gauldal",
        "5028": "Melhus",
        "5029": "Skaun",
        "5031": "Malvik",
        "5032": "Selbu",
        "5033": "Tydal",
        "5034": "Meråker",
        "5035": "Stjørdal",
        "5036": "Frosta",
        "5037": "Levanger",
        "5038": "Verdal",
        "5041": "Snåase (Snåsa)",
        "5042": "Lierne",
        "5043": "Raarvihke (Røyrvik)",
        "5044": "Namsskogan",
        "5045": "Grong",
        "5046": "Høylandet",
        "5047": "Overhalla",
        "5049": "Flatanger",
        "5052": "Leka",
        "5053": "Inderøy",
        "5054": "Indre Fosen",
        "5055": "Heim",
        "5056": "Hitra",
        "5057": "Ørland",
        "5058": "Åfjord",
        "5059": "Orkland",
        "5060": "Nærøysund",
        "5061": "Rindal",
    }
)

#: Every current municipality in the served counties.
MUNICIPALITIES: Final[Mapping[str, str]] = MappingProxyType({**MORE_OG_ROMSDAL, **TRONDELAG})

#: Codes in the served counties known to be out of use, with what replaced them.
RETIRED: Final[Mapping[str, str]] = MappingProxyType(
    {"1507": "Ålesund changed from 1507 to 1508 in 2024 (Haram split off as 1580)"}
)


def name(code: str) -> str | None:
    """Return the name of a current municipality in a served county, else ``None``."""
    return MUNICIPALITIES.get(code)


def county(code: str) -> str | None:
    """Return the name of the served county a four-digit code belongs to, else ``None``."""
    if len(code) != 4:
        return None
    return COUNTIES.get(code[:2])
