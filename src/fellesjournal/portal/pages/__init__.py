"""The portal's pages, one module per page group, each with ``routes(portal)``
(listed in ``fellesjournal.portal.routes.PAGE_MODULES``)."""
