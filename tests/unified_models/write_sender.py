"""A separate OS process that sends one recorded mutation, so a test can kill it with SIGKILL mid-write.

Run as `python -m tests.unified_models.write_sender <mutation id>` with DATABASE_URL (the test database),
LEDGERBRIDGE_CREDENTIAL_KEYS and the sandbox world's environment; prints "sending" before the vendor call. With
`--claim <connection id> <idempotency key> <request JSON>` it records the write as the API does (inserted already
claimed) and sends it.
"""

from __future__ import annotations

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.test")
    django.setup()
    from unified_models import services
    from unified_models.models import Mutation

    if sys.argv[1] == "--claim":
        from tenants.models import Connection

        connection_id, key, request = sys.argv[2:5]
        # As the API's views load it: with its credential and mapping (unified_models.selectors.connection_get).
        connection = Connection.objects.select_related("credential", "workspace", "mapping").get(pk=connection_id)
        mutation = services.mutation_create(
            workspace=connection.workspace,
            connection=connection,
            resource="invoices",
            operation="create",
            request=json.loads(request),
            idempotency_key=key,
            claim=True,
        )
    else:
        mutation = Mutation.objects.get(pk=sys.argv[1])
    print("sending", flush=True)
    outcome = services.mutation_execute(mutation=mutation)
    print(f"done {outcome.mutation.status}", flush=True)


if __name__ == "__main__":
    main()
