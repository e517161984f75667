"""API handlers of the local store: /api/v1/connections/{connection_id}/sync (status per resource, trigger a run)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.problems import Problem
from unified_models import openapi
from unified_models.query import validated
from unified_models.store import selectors as store_selectors
from unified_models.store import services
from unified_models.store.models import SyncMode
from unified_models.store.tasks import sync_run_enqueue
from unified_models.views import ConnectionAPIView


class SyncProgressSerializer(serializers.Serializer):
    run_id = serializers.UUIDField()
    mode = serializers.ChoiceField(choices=SyncMode.choices)
    state = serializers.ChoiceField(choices=["queued", "running"])
    phase = serializers.CharField(help_text="`backfill` (a full copy), `changes`, `snapshot` (a set read whole).")
    started_at = serializers.DateTimeField(allow_null=True)
    rows_done = serializers.IntegerField(help_text="Records read and stored so far.")
    rows_expected = serializers.IntegerField(allow_null=True, help_text="Records the full copy will read, if known.")
    calls_used = serializers.IntegerField(help_text="Vendor calls this run has made.")
    estimated_seconds_left = serializers.FloatField(
        allow_null=True,
        help_text="At the pace so far (which includes waiting for the vendor's rate limit); null when unknown.",
    )


class SyncResourceSerializer(serializers.Serializer):
    resource = serializers.CharField()
    state = serializers.ChoiceField(
        choices=["never", "queued", "running", "idle", "failed"],
        help_text="`never`: no copy yet (reads go to the vendor); `idle`: the last run succeeded.",
    )
    reads_from_store = serializers.BooleanField(help_text="Whether list and retrieve are served from the copy.")
    record_count = serializers.IntegerField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    last_error_at = serializers.DateTimeField(allow_null=True)
    running = SyncProgressSerializer(allow_null=True)


class SyncStatusSerializer(serializers.Serializer):
    resources = SyncResourceSerializer(many=True)


class SyncRequestSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=SyncMode.choices,
        default=SyncMode.INCREMENTAL,
        help_text="`incremental`: changes since the last run (a full copy if there is none); `full`: copy everything "
        "again.",
    )
    resources = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        min_length=1,
        help_text="Which resources (default: every resource the connector keeps a copy of).",
    )


class SyncStartedSerializer(serializers.Serializer):
    class RunSerializer(serializers.Serializer):
        run_id = serializers.UUIDField()
        resource = serializers.CharField()
        mode = serializers.ChoiceField(choices=SyncMode.choices)

    runs = RunSerializer(many=True)


_STATUS_EXAMPLE = {
    "resources": [
        {
            "resource": "invoices",
            "state": "running",
            "reads_from_store": False,
            "record_count": 42000,
            "last_success_at": None,
            "last_error": None,
            "last_error_at": None,
            "running": {
                "run_id": "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b",
                "mode": "full",
                "state": "running",
                "phase": "backfill",
                "started_at": "2025-03-01T10:00:00Z",
                "rows_done": 42000,
                "rows_expected": 100000,
                "calls_used": 44,
                "estimated_seconds_left": 61.5,
            },
        }
    ]
}


class SyncView(ConnectionAPIView):
    @extend_schema(
        operation_id="connection_sync_status",
        summary="Sync status of a connection's local copy",
        description="Per resource: whether reads come from the gateway's copy, its size, the last success and error, "
        "and the progress of a running run.",
        parameters=[openapi.CONNECTION_ID],
        responses={200: SyncStatusSerializer, **openapi.problem_responses(404, 405)},
        examples=[OpenApiExample("A backfill under way", value=_STATUS_EXAMPLE, response_only=True)],
        tags=["sync"],
    )
    def get(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        return Response({"resources": store_selectors.sync_status(connection=connection)})

    @extend_schema(
        operation_id="connection_sync_start",
        summary="Start a sync run",
        description="Queues a run per resource. 409 `sync_running` (and nothing started) while a run of one of "
        "them is under way.",
        parameters=[openapi.CONNECTION_ID],
        request=SyncRequestSerializer,
        responses={202: SyncStartedSerializer, **openapi.problem_responses(404, 405, 409, 422)},
        tags=["sync"],
    )
    def post(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        data = validated(SyncRequestSerializer, request.data).validated_data
        available = services.sync_resources(connection)
        resources = list(dict.fromkeys(data.get("resources") or available))
        unknown = [name for name in resources if name not in available]
        if unknown:
            raise Problem(
                status_code=422,
                code="sync_not_supported",
                title="No local copy of this resource",
                detail=f"{connection.connector} keeps no local copy of: {', '.join(unknown)}.",
                errors=[
                    {"field": "resources", "code": "invalid", "message": f"Not synced: {name}."} for name in unknown
                ],
            )
        try:
            runs = services.sync_runs_request(
                connection=connection, resources=resources, mode=data["mode"], trigger="api"
            )
        except services.SyncAlreadyRunning as exc:
            raise Problem(
                status_code=409,
                code="sync_running",
                title="A sync run is under way",
                detail=f"A {exc.run.mode} run of {exc.run.resource} is running; nothing was started.",
                run_id=str(exc.run.pk),
            ) from None
        for run in runs:
            sync_run_enqueue(run.pk)
        body: dict[str, Any] = {
            "runs": [{"run_id": str(run.pk), "resource": run.resource, "mode": run.mode} for run in runs]
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)
