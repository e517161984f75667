"""The local store: a per-connection copy of the unified records, filled and kept fresh by sync runs."""
