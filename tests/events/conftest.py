"""The unified API's sandbox fixtures (a connection to division 101 with a mapping) for the audit tests."""

from tests.unified_models.conftest import connected, first_customer_id, mapped  # noqa: F401
