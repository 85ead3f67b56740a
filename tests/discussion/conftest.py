"""The API's client fixtures, for the discussion API tests."""

from tests.api.conftest import admin_headers, client

__all__ = ["admin_headers", "client"]
