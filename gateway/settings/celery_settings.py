"""Celery: broker, serialisation, limits, queues and the beat schedule (all in code)."""

from datetime import timedelta

from celery.schedules import crontab
from kombu import Queue

from gateway.settings.env import VAR_DIR, env
from gateway.settings.events import LEDGERBRIDGE_WEBHOOK_DISPATCH_INTERVAL
from gateway.settings.sync import (
    LEDGERBRIDGE_INBOUND_CHECK_SECONDS,
    LEDGERBRIDGE_SYNC_EPOCH_SECONDS,
    LEDGERBRIDGE_SYNC_SCHEDULE,
)
from gateway.settings.writes import LEDGERBRIDGE_RECONCILE_INTERVAL

_redis_url = env.str("REDIS_URL", default="")
_broker_dir = VAR_DIR / "celery-broker"

# No configuration: kombu's filesystem transport, a real broker shared by every local process (no eager mode).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_redis_url or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
else:
    # A task reserved by a worker that died (kill -9) is delivered again after this many seconds (not the default
    # hour); it must outlast CELERY_TASK_TIME_LIMIT so a running task is never delivered twice (gateway.checks).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300)}

CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Tasks report through the database (sync runs, mutations), not through a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
# Long vendor calls: one task at a time per worker process, so a slow division never starves others.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [
    Queue("default"),
    Queue("vendor"),  # calls to accounting vendors (writes, retries)
    Queue("sync"),  # backfills and incremental syncs
    Queue("webhooks"),  # inbound vendor events and outbound deliveries
    Queue("maintenance"),  # token keep-alive, heartbeats, clean-ups
]
CELERY_TASK_ROUTES = {
    "gateway.tasks.*": {"queue": "maintenance"},
    "tenants.tasks.*": {"queue": "maintenance"},
    "unified_models.tasks.*": {"queue": "vendor"},
    "events.tasks.*": {"queue": "webhooks"},
    "unified_models.store.tasks.*": {"queue": "sync"},
}
CELERY_TIMEZONE = "UTC"
# Workers log through Django's LOGGING (request ids, secrets redacted), not Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # Refresh idle credentials before their 30-day Exact refresh token dies (tenants/tasks.py).
    "credentials-keepalive": {
        "task": "tenants.tasks.credentials_keepalive",
        "schedule": timedelta(hours=1),
    },
    # Writes whose sender died (expired lease) or whose answer was lost (in doubt, settled): unified_models/tasks.py.
    "mutations-reconcile": {
        "task": "unified_models.tasks.mutations_reconcile",
        "schedule": timedelta(seconds=LEDGERBRIDGE_RECONCILE_INTERVAL),
    },
    # Outbound webhook deliveries that are due: retries, first tries whose message was lost (events/tasks.py).
    "webhook-deliveries-dispatch": {
        "task": "events.tasks.webhook_deliveries_dispatch",
        "schedule": timedelta(seconds=LEDGERBRIDGE_WEBHOOK_DISPATCH_INTERVAL),
    },
    # Last month's writes against each ledger, on the 1st at 03:00 UTC (unified_models/reconciliation.py).
    "reconciliations-monthly": {
        "task": "unified_models.tasks.reconciliations_monthly",
        "schedule": crontab(minute=0, hour=3, day_of_month=1),
    },
    "idempotency-keys-purge": {
        "task": "gateway.tasks.idempotency_keys_purge",
        "schedule": timedelta(hours=1),
    },
}
# The local store: an incremental run per resource per period (unified_models/store/tasks.py spreads the connections
# over it), and the check for vendor epochs that moved (a division move makes every checkpoint worthless).
CELERY_BEAT_SCHEDULE.update(
    {
        f"store-sync-{resource}": {
            "task": "unified_models.store.tasks.sync_schedule",
            "schedule": timedelta(seconds=seconds),
            "args": [resource],
        }
        for resource, seconds in LEDGERBRIDGE_SYNC_SCHEDULE.items()
    }
)
CELERY_BEAT_SCHEDULE["store-sync-epochs"] = {
    "task": "unified_models.store.tasks.sync_epoch_check",
    "schedule": timedelta(seconds=LEDGERBRIDGE_SYNC_EPOCH_SECONDS),
}
# Inbound vendor webhooks: each connection's subscriptions still exist (re-created if the vendor dropped them).
CELERY_BEAT_SCHEDULE["store-inbound-subscriptions"] = {
    "task": "unified_models.store.tasks.inbound_subscriptions_check",
    "schedule": timedelta(seconds=LEDGERBRIDGE_INBOUND_CHECK_SECONDS),
}
# One heartbeat per queue every 30 s (deploy/metrics.yaml: ledgerbridge_worker_heartbeat_timestamp_seconds): each
# queue's workers prove they consume it; an expiry drops heartbeats nobody took, so a dead queue does not pile up.
CELERY_BEAT_SCHEDULE.update(
    {
        f"worker-heartbeat-{queue.name}": {
            "task": "gateway.tasks.worker_heartbeat_record",
            "schedule": timedelta(seconds=30),
            "options": {"queue": queue.name, "expires": 60},
        }
        for queue in CELERY_TASK_QUEUES
    }
)
