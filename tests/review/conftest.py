"""Review fixtures: a client whose token carries the ``protected-addresses`` permission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.auth.tokens import issue_system_token


@pytest.fixture()
def privileged(app: Any, settings: Any) -> Iterator[TestClient]:
    token = issue_system_token(settings, ttl=600, permissions=("protected-addresses",))
    with TestClient(app, base_url="http://testserver") as c:
        c.headers.update({"Authorization": f"Bearer {token}"})
        yield c
