"""The page decorator: refusals from the repository become pages with the right status,
never a 500 (``web/workspace.py``, ``answers``)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from fellesjournal.fhir.errors import error
from fellesjournal.web.routes import session_middleware
from fellesjournal.web.workspace import answers


class Refusing:
    def __init__(self, status: int) -> None:
        self.status = status

    @answers
    async def page(self, request: Request) -> Response:
        raise error(self.status, "conflict" if self.status == 409 else "invalid", "refused")


def _client(status: int) -> TestClient:
    app = Starlette(
        routes=[Route("/", Refusing(status).page)],
        middleware=[session_middleware("test-secret")],
    )
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("status", "shown", "heading"),
    [
        (400, 400, "Det lot seg ikke gjøre"),
        (422, 422, "Det lot seg ikke gjøre"),
        (403, 403, None),
        (409, 409, "Endret av noen andre i mellomtiden"),
        (412, 409, "Endret av noen andre i mellomtiden"),
    ],
)
def test_refusals_become_pages(status: int, shown: int, heading: str | None) -> None:
    page = _client(status).get("/")
    assert page.status_code == shown
    assert "<h1>" in page.text
    if heading:
        assert heading in page.text


def test_other_errors_are_not_hidden() -> None:
    assert _client(500).get("/").status_code == 500
