"""The explicit connector registry: the classes listed in settings.LEDGERBRIDGE_CONNECTORS, loaded once."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from django.conf import settings
from django.utils.module_loading import import_string

from connectors.base.connector import ApiKeyConnector, Connector, OAuth2Connector


class UnknownConnector(LookupError):
    """No connector with this id is configured."""


def _check_auth(dotted: str, connector_class: type[Connector]) -> None:
    """The declared auth kind and the auth half the class implements must agree."""
    auth = connector_class.info.auth
    implements = OAuth2Connector if auth.is_oauth else ApiKeyConnector
    if not issubclass(connector_class, implements):
        raise TypeError(f"{dotted} declares {auth.value} auth but is not an {implements.__name__}.")


@lru_cache(maxsize=1)
def _registry() -> Mapping[str, Connector]:
    loaded: dict[str, Connector] = {}
    for dotted in settings.LEDGERBRIDGE_CONNECTORS:
        connector_class = import_string(dotted)
        if not (isinstance(connector_class, type) and issubclass(connector_class, Connector)):
            raise TypeError(f"{dotted} is not a Connector subclass.")
        _check_auth(dotted, connector_class)
        connector_id = connector_class.info.id
        if connector_id in loaded:
            raise ValueError(f"Two connectors claim the id '{connector_id}'.")
        loaded[connector_id] = connector_class()
    return MappingProxyType(loaded)


def get_connector(connector_id: str) -> Connector:
    try:
        return _registry()[connector_id]
    except KeyError:
        raise UnknownConnector(f"Unknown connector '{connector_id}'.") from None


def registered_connectors() -> list[Connector]:
    """Every configured connector, in settings order (system checks look at each one's declarations)."""
    return list(_registry().values())


def reset_registry() -> None:
    """For tests that change settings.LEDGERBRIDGE_CONNECTORS."""
    _registry.cache_clear()
