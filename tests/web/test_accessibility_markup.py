"""The markup the accessibility of the workspace rests on, checked in process (fast; the
browser tests run axe-core and the keyboard over the same pages)."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from fellesjournal.web.charts import series_label, trend_svg
from tests.web.conftest import csrf_of, sign_in

GP = "990001483"  # Marit Myklebust, doctor at Orkland legekontor (demo_users.py)


def test_every_page_starts_with_a_link_to_its_main_content(web: TestClient) -> None:
    home = sign_in(web, GP)
    for page in (home, web.get("/context"), web.get("/patients?q=%00")):
        body = page.text.split("<body>", 1)[1].lstrip()
        assert body.startswith('<a class="skip" href="#main">Hopp til hovedinnholdet</a>')
        assert '<main id="main" tabindex="-1">' in page.text
        assert len(re.findall(r"<h1[ >]", page.text)) == 1, page.url
    assert '<button type="submit" name="locale" value="nn" lang="nn"' in home.text


def test_the_context_page_shows_when_a_context_is_chosen(web: TestClient) -> None:
    sign_in(web, GP)
    page = web.get("/context")  # "Switch work context" in every page's header
    assert page.status_code == 200
    assert "Orkland legekontor" in page.text
    assert 'aria-current="true"' in page.text  # the context in use


def test_refused_values_point_to_the_message(web: TestClient) -> None:
    home = sign_in(web, GP)
    patient = re.search(r'href="/patients/([^"/]+)"', home.text)
    assert patient is not None, "no patient on the GP's start page"
    form = web.get(f"/patients/{patient.group(1)}/vitals")
    refused = web.post(
        f"/patients/{patient.group(1)}/vitals",
        data={"csrf": csrf_of(form.text), "pulse": "720", "spo2": "9x"},
    )
    assert refused.status_code == 400
    assert '<p class="error" id="form-error" role="alert">' in refused.text
    for name in ("pulse", "spo2"):
        field = re.search(rf'<input id="v-{name}"[^>]*>', refused.text)
        assert field is not None
        assert 'aria-invalid="true" aria-describedby="form-error"' in field.group(0)
    untouched = re.search(r'<input id="v-temperature"[^>]*>', refused.text)
    assert untouched is not None and "aria-describedby" not in untouched.group(0)


def test_a_chart_is_named_by_its_values() -> None:
    points = [(f"2025-0{m}-02T08:00:00+01:00", 12.0 + m / 10) for m in range(1, 10)]
    assert series_label("Hb", "g/dL", points[:2]) == "Hb g/dL: 02.01.2025 12,1; 02.02.2025 12,2"
    label = series_label("Hb", "g/dL", points * 2)
    assert label.startswith("Hb g/dL: …; ") and label.count(";") == 12  # the latest 12
    svg = trend_svg(points, 11.7, 15.3, "Hb <g/dL>")
    assert 'role="img" aria-label="Hb &lt;g/dL&gt;"><title>Hb &lt;g/dL&gt;</title>' in svg
