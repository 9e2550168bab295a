"""A workspace on its own database: the region and a small demo population, served
in process (Starlette's TestClient over HTTPS, so the Secure session cookie travels)."""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access.actor import PROTECTED_ADDRESSES, Actor
from fellesjournal.app import create_app
from fellesjournal.demo.seeder import seed_population, with_members
from fellesjournal.region.options import list_memberships, seed_region
from fellesjournal.region.seed import build_region
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from tests.conftest import fresh_database_url, make_settings

PATIENTS = 60
TODAY = datetime.date(2026, 11, 25)


@pytest.fixture(scope="package")
def ws_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("workspace")
    url = fresh_database_url(folder, "workspace")
    settings = make_settings(url, folder, base_url="https://testserver")
    store = SqlStore.from_settings(settings)
    upgrade(store.engine)
    actor = Actor(
        "system", "test", scopes=("system/*.*",), claims={"fj_permissions": [PROTECTED_ADDRESSES]}
    )
    repo = GuardedRepository(store, settings, RequestContext(actor=actor))
    seed_region(repo)
    members = {m.number for m in list_memberships(repo) if m.member}
    seed_population(
        repo, with_members(build_region(), members), patients=PATIENTS, seed=1, today=TODAY
    )
    store.dispose()
    return settings


@pytest.fixture(scope="package")
def ws_app(ws_settings: Settings) -> Iterator[Any]:
    app = create_app(ws_settings)
    yield app


@pytest.fixture
def web(ws_app: Any) -> Iterator[TestClient]:
    """A fresh browser (own cookie jar) on the workspace."""
    with TestClient(ws_app, base_url="https://testserver") as client:
        yield client


def sign_in(client: TestClient, hpr: str, *, follow: bool = True) -> Any:
    """Sign in through the built-in issuer's page as the holder of ``hpr``; the response
    after the sign-in (the context choice, or the start page when there is one)."""
    start = client.get("/signin", follow_redirects=False)
    page = client.get(start.headers["location"])
    form = re.search(
        r'<form method="post" action="/auth/authorize" class="hpr">(.*?)</form>', page.text, re.S
    )
    assert form is not None, page.text
    data = {
        k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1))
    }
    data["hpr"] = hpr
    back = client.post("/auth/authorize", data=data, follow_redirects=False)
    assert back.status_code == 303, back.text
    return client.get(back.headers["location"], follow_redirects=follow)


def csrf_of(page_html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert found is not None
    return found.group(1)


def path_of(url: Any) -> str:
    return str(getattr(url, "path", url))


__all__ = ["Path", "csrf_of", "path_of", "sign_in"]
