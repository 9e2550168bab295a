"""The patient portal (``/portal``): the citizen's view of the one record.

See ``docs/portal.md`` for the contract. ``base.py`` turns a signed-in session into a
guarded repository acting as the citizen (or a proxy on a represented patient's
behalf); ``routes.py`` collects the routes of ``signin.py``, ``idporten.py`` and the
page modules under ``pages/``; templates live in ``templates/portal/``.
"""
