"""Which vendor connectors this gateway loads: an explicit list, no import scanning."""

LEDGERBRIDGE_CONNECTORS: list[str] = []
