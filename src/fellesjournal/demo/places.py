"""Where a synthetic patient lives and is cared for: an index over the region.

:class:`Places` answers the generator's questions about a
:class:`~fellesjournal.region.model.Region`: which municipality a person lives in
(weighted by population), who their fastlege can be (a doctor at a fastlegekontor of
their own municipality), and which ward, outpatient clinic or emergency department of
their health trust sees them. Hospital care goes to the patient's local hospital site
where the trust has several (:data:`LOCAL_SITE`), then to the rest of the trust.

Everything is precomputed once per region and deterministic: lists keep the region's
order, and choices are made with the caller's random generator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from fellesjournal.demo.identity import Weighted
from fellesjournal.region.model import HealthTrust, Municipality, Region, Staff, Unit

#: The hospital site (unit id of the site, ``{trust}-{slug}``) that serves a
#: municipality, for trusts with several sites: Nordmøre → Kristiansund, Romsdal → Molde,
#: Søre Sunnmøre → Volda, the rest of Sunnmøre → Ålesund; Namdalen → Namsos, the rest of
#: Nord-Trøndelag → Levanger. Unlisted municipalities use the trust as a whole.
LOCAL_SITE: Final = {
    **dict.fromkeys(
        ("1505", "1554", "1557", "1560", "1563", "1566", "1573", "1576"), "hmr-kristiansund"
    ),
    **dict.fromkeys(("1506", "1535", "1539", "1547", "1579"), "hmr-molde"),
    **dict.fromkeys(("1511", "1514", "1515", "1516", "1517", "1520", "1577"), "hmr-volda"),
    **dict.fromkeys(("1508", "1525", "1528", "1531", "1532", "1578", "1580"), "hmr-alesund"),
    **dict.fromkeys(
        ("5007", "5042", "5043", "5044", "5045", "5046", "5047", "5049", "5052", "5060"),
        "hnt-namsos",
    ),
}

#: Wards adults are not admitted to for the generator's reasons.
_SPECIAL_WARDS: Final = ("barn", "føde", "fode", "barsel", "psyk", "intensiv")


@dataclass(frozen=True, slots=True)
class Team:
    """A unit and the clinicians working there."""

    unit: Unit
    doctors: tuple[Staff, ...]
    nurses: tuple[Staff, ...]

    @classmethod
    def of(cls, unit: Unit) -> Team:
        doctors = tuple(s for s in unit.staff if s.role == "doctor")
        nurses = tuple(s for s in unit.staff if s.role == "nurse")
        return cls(unit, doctors, nurses)

    def doctor(self, rng: random.Random) -> Staff | None:
        pool = self.doctors or self.nurses or self.unit.staff
        return rng.choice(pool) if pool else None

    def nurse(self, rng: random.Random) -> Staff | None:
        pool = self.nurses or self.doctors or self.unit.staff
        return rng.choice(pool) if pool else None


@dataclass(frozen=True, slots=True)
class Local:
    """A municipality and its own services."""

    municipality: Municipality
    fastleger: tuple[tuple[Team, Staff], ...]  #: (fastlegekontor, doctor)
    home_care: tuple[Team, ...]
    legevakt: tuple[Team, ...]
    trust: HealthTrust | None
    town: bool  #: a town (street names in -veien) rather than countryside


class Places:
    """The generator's view of a region (see the module docstring)."""

    def __init__(self, region: Region) -> None:
        self.region = region
        self.teams = {u.id: Team.of(u) for u in region.units()}
        usable = [m for m in region.municipalities if m.population > 0]
        if not usable:
            raise ValueError("the region has no municipality with inhabitants")
        self._locals = {m.number: self._local(m) for m in usable}
        self._weighted = Weighted([(m.number, m.population) for m in usable])
        self._site_units: dict[str, tuple[Unit, ...]] = {}
        for trust in region.trusts:
            for unit in trust.units:
                self._site_units.setdefault(unit.parent_id, ())
                self._site_units[unit.parent_id] += (unit,)

    def _local(self, m: Municipality) -> Local:
        gp = tuple(
            (self.teams[u.id], s)
            for u in m.units_of("fastlegekontor")
            for s in self.teams[u.id].doctors
        )
        return Local(
            municipality=m,
            fastleger=gp,
            home_care=tuple(self.teams[u.id] for u in m.units_of("hjemmetjeneste")),
            legevakt=tuple(self.teams[u.id] for u in m.units_of("legevakt")),
            trust=self.region.trust(m.trust_key),
            town=m.population >= 20_000,
        )

    def municipality(self, rng: random.Random) -> Local:
        return self._locals[self._weighted.pick(rng)]

    def local(self, number: str) -> Local:
        return self._locals[number]

    # -- hospital ---------------------------------------------------------------------------
    def _units(self, local: Local, kind: str) -> tuple[list[Unit], list[Unit]]:
        """(units of ``kind`` at the local site, units of ``kind`` in the whole trust)."""
        if local.trust is None:
            everywhere = [u for t in self.region.trusts for u in t.units if u.kind == kind]
            return everywhere, everywhere
        trust_units = [u for u in local.trust.units if u.kind == kind]
        site = LOCAL_SITE.get(local.municipality.number)
        near = [u for u in self._site_units.get(site, ()) if u.kind == kind] if site else []
        return near or trust_units, trust_units

    def _choose(
        self,
        local: Local,
        kind: str,
        words: Sequence[str],
        rng: random.Random,
        child: bool,
    ) -> Team | None:
        near, trust_wide = self._units(local, kind)
        if child:
            for pool in (near, trust_wide):
                found = [u for u in pool if "barn" in u.name.lower()]
                if found:
                    return self.teams[rng.choice(found).id]
        if kind == "ward":
            near = [u for u in near if not _special(u)]
            trust_wide = [u for u in trust_wide if not _special(u)]
        for pool in (near, trust_wide):
            for word in words:
                found = [u for u in pool if word in u.name.lower()]
                if found:
                    return self.teams[rng.choice(found).id]
        pool = near or trust_wide
        return self.teams[rng.choice(pool).id] if pool else None

    def ward(
        self, local: Local, words: Sequence[str], rng: random.Random, child: bool = False
    ) -> Team | None:
        """A ward for an admission: by ``words`` in its name, near first."""
        return self._choose(local, "ward", words, rng, child)

    def outpatient(
        self, local: Local, words: Sequence[str], rng: random.Random, child: bool = False
    ) -> Team | None:
        """An outpatient clinic: by ``words`` in its name, else a medical one."""
        return self._choose(local, "outpatient", (*words, "medisin"), rng, child)

    def emergency(self, local: Local, rng: random.Random) -> Team | None:
        return self._choose(local, "emergency", (), rng, False)


def _special(unit: Unit) -> bool:
    name = unit.name.lower()
    return any(word in name for word in _SPECIAL_WARDS)
