"""The demo: `manage.py demo` sets up a workspace, a tenant connected to the Exact sandbox and prints how to use it."""
