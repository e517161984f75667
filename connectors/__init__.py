"""Vendor connectors: the contract every connector fulfils (`base`), the registry, one package per vendor."""
