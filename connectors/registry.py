"""The explicit connector registry: the classes listed in settings.LEDGERBRIDGE_CONNECTORS, loaded once."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from django.conf import settings
from django.utils.module_loading import import_string

from connectors.base.connector import Connector


class UnknownConnector(LookupError):
    """No connector with this id is configured."""


@lru_cache(maxsize=1)
def _registry() -> Mapping[str, Connector]:
    loaded: dict[str, Connector] = {}
    for dotted in settings.LEDGERBRIDGE_CONNECTORS:
        connector_class = import_string(dotted)
        if not (isinstance(connector_class, type) and issubclass(connector_class, Connector)):
            raise TypeError(f"{dotted} is not a Connector subclass.")
        if connector_class.id in loaded:
            raise ValueError(f"Two connectors claim the id '{connector_class.id}'.")
        loaded[connector_class.id] = connector_class()
    return MappingProxyType(loaded)


def get_connector(connector_id: str) -> Connector:
    try:
        return _registry()[connector_id]
    except KeyError:
        raise UnknownConnector(f"Unknown connector '{connector_id}'.") from None


def connector_ids() -> list[str]:
    return sorted(_registry())


def reset_registry() -> None:
    """For tests that change settings.LEDGERBRIDGE_CONNECTORS."""
    _registry.cache_clear()
