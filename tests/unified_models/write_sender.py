"""A separate OS process that sends one recorded mutation, so a test can kill it with SIGKILL mid-write.

Run as `python -m tests.unified_models.write_sender <mutation id>` with DATABASE_URL (the test database),
LEDGERBRIDGE_CREDENTIAL_KEYS and the sandbox world's environment; prints "sending" before the vendor call.
"""

from __future__ import annotations

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.test")
    django.setup()
    from unified_models import services
    from unified_models.models import Mutation

    mutation = Mutation.objects.get(pk=sys.argv[1])
    print("sending", flush=True)
    outcome = services.mutation_execute(mutation=mutation)
    print(f"done {outcome.mutation.status}", flush=True)


if __name__ == "__main__":
    main()
