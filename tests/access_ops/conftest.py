"""The identity tests' small world, for the access operations."""

from tests.access.conftest import world

__all__ = ["world"]
