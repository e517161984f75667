"""The hosted connect flow: server-rendered pages that take a tenant's user from a connect link to connections."""
