"""Confidentiality labels: restricted resources only for roles or units cleared for them.

The ``labels`` record has a relation with the unit and with the psychiatric unit, and
holds an Observation labelled PSY, one SEX, one both PSY and SEX, and a Condition
labelled R (restricted). A clearance is per label (``access/labels.py``): on the role
(``doc_psy``) or on the unit's ``type`` (``doc_psy_unit``); a resource with two labels
needs both. System clients and the citizen see them all. (Every other record's PSY
Observation is checked by every row of the matrix too.) The rows are in
``scenarios.py``.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.access_matrix.scenarios import LABELS, Row, check_row, params
from tests.access_matrix.world import World


@pytest.mark.parametrize("row", params(LABELS))
def test_labels_need_a_clearance(http: TestClient, world: World, row: Row) -> None:
    check_row(http, world, row)
