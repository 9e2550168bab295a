"""NEWS2 against the Royal College of Physicians' chart (2017): every band edge, the
risk levels, and no score from an incomplete set."""

from __future__ import annotations

import pytest

from fellesjournal.clinical import news2 as n
from fellesjournal.clinical.vitals import VitalSet, observations, out_of_range


@pytest.mark.parametrize(
    ("rate", "points"),
    [(5, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (40, 3)],
)
def test_respiration(rate: float, points: int) -> None:
    assert n.respiration_score(rate) == points


@pytest.mark.parametrize(
    ("spo2", "points"), [(85, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]
)
def test_spo2_scale_1(spo2: float, points: int) -> None:
    assert n.spo2_score(spo2) == points


@pytest.mark.parametrize(
    ("systolic", "points"),
    [(70, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)],
)
def test_systolic(systolic: float, points: int) -> None:
    assert n.systolic_score(systolic) == points


@pytest.mark.parametrize(
    ("pulse", "points"),
    [
        (35, 3),
        (40, 3),
        (41, 1),
        (50, 1),
        (51, 0),
        (90, 0),
        (91, 1),
        (110, 1),
        (111, 2),
        (130, 2),
        (131, 3),
    ],
)
def test_pulse(pulse: float, points: int) -> None:
    assert n.pulse_score(pulse) == points


@pytest.mark.parametrize(
    ("celsius", "points"),
    [
        (34.0, 3),
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (41.0, 2),
    ],
)
def test_temperature(celsius: float, points: int) -> None:
    assert n.temperature_score(celsius) == points


HEALTHY = n.Vitals(16, 98, False, 125, 72, True, 36.8)


def test_a_healthy_set_scores_zero() -> None:
    result = n.news2(HEALTHY)
    assert (result.score, result.risk, result.missing) == (0, n.LOW, ())


def test_one_red_parameter_is_low_medium() -> None:
    result = n.news2(n.Vitals(16, 98, False, 125, 72, False, 36.8))  # new confusion
    assert (result.score, result.risk) == (3, n.LOW_MEDIUM)


def test_medium_and_high() -> None:
    medium = n.news2(n.Vitals(22, 95, True, 125, 72, True, 36.8))  # 2 + 1 + 2
    assert (medium.score, medium.risk) == (5, n.MEDIUM)
    high = n.news2(n.Vitals(26, 90, True, 95, 120, True, 39.5))  # 3+3+2+2+2+0+2
    assert (high.score, high.risk) == (14, n.HIGH)


def test_an_incomplete_set_has_no_score() -> None:
    result = n.news2(n.Vitals(respiration=30, pulse=140))
    assert result.score is None and result.risk is None
    assert set(result.missing) == {"spo2", "oxygen", "systolic", "consciousness", "temperature"}
    assert result.parts == {"respiration": 3, "pulse": 3}


def test_observations_of_a_set() -> None:
    values = VitalSet(16, 98, False, 125, 80, 72, True, 36.8, 70.5, None)
    score = n.news2(values.news2_input())
    made = observations(values, score, patient_id="p1", performer="Practitioner/x", when="t")
    codes = {o["code"]["coding"][0]["code"] for o in made}
    assert {"9279-1", "2708-6", "8867-4", "8310-5", "29463-7", "85354-9", "news2"} <= codes
    assert "8302-2" not in codes  # height not measured
    bp = next(o for o in made if o["code"]["coding"][0]["code"] == "85354-9")
    assert [c["valueQuantity"]["value"] for c in bp["component"]] == [125, 80]
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in made)


def test_impossible_values_are_named() -> None:
    assert out_of_range(VitalSet(pulse=720, systolic=80, diastolic=120)) == ["pulse", "diastolic"]
    assert out_of_range(VitalSet(pulse=72, temperature=36.9)) == []
