"""The portal's routes: each module of :data:`PAGE_MODULES` contributes its own.

A page module (``fellesjournal.portal.<name>``) has ``routes(portal) -> list[BaseRoute]``.
Mounted by ``fellesjournal.app.create_app`` beside the workspace; the session middleware,
the security headers and ``/static`` are the workspace's (``web/routes.py``).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Final

from starlette.routing import BaseRoute

from fellesjournal.portal.base import Portal

#: The modules that serve portal pages, below ``fellesjournal.portal``. A module listed
#: here that is not (yet) in the source tree is skipped: the portal is built by several
#: people at once, and one page missing must not stop the others.
PAGE_MODULES: Final = (
    "signin",
    "idporten",
    "pages.start",
    "pages.record",
    "pages.documents",
    "pages.results",
    "pages.proxies",
    "pages.download",
    "pages.appointments",
    "pages.referrals",
    "pages.messages",
    "pages.access_log",
    "pages.blocks",
)


def portal_routes(portal: Portal) -> list[BaseRoute]:
    """Every route of the modules in :data:`PAGE_MODULES` that exist."""
    out: list[BaseRoute] = []
    for name in PAGE_MODULES:
        full = f"fellesjournal.portal.{name}"
        if importlib.util.find_spec(full) is None:
            continue
        out.extend(importlib.import_module(full).routes(portal))
    return out
