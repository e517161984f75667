"""Workspaces, API keys, tenants, connections, credentials and the hosted connect flow."""
