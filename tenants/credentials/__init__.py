"""Vendor credentials: stored encrypted (store, crypto), refreshed across processes (refresh, locks), granted by a
user (consent), and the start-up checks their timing needs (checks). Every write to a Credential row is in store."""
