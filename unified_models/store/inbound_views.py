"""POST /inbound/<connector id>: vendor webhooks (unified_models/store/inbound.py does the work).

Outside /api/: the vendor has no API key; the connector's signature check is the authentication. The answer comes
after one small transaction (the events recorded); the fetches run on the sync queue.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from connectors.base.inbound import InboundRejected
from gateway.api.problems import problem_json_response
from unified_models.store import inbound
from unified_models.store.tasks import inbound_fetches_enqueue

logger = logging.getLogger(__name__)


@method_decorator(csrf_exempt, name="dispatch")
class InboundWebhookView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, connector_id: str) -> HttpResponse:
        try:
            outcome, fetches = inbound.inbound_receive(
                connector_id=connector_id, body=request.body, headers=request.headers
            )
        except inbound.InboundUnknownConnector:
            return problem_json_response(
                request, status_code=404, code="not_found", title="Not found", detail="No such connector."
            )
        except InboundRejected as exc:
            logger.warning("Inbound %s webhook refused: %s", connector_id, exc.message)
            title = "Authentication failed" if exc.status == 401 else "Malformed request"
            return problem_json_response(
                request, status_code=exc.status, code=exc.code, title=title, detail=exc.message
            )
        inbound_fetches_enqueue(fetches)
        return HttpResponse(status=outcome.status)

    def http_method_not_allowed(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = problem_json_response(
            request,
            status_code=405,
            code="method_not_allowed",
            title="Method not allowed",
            detail=f"{request.method} is not allowed here; vendors POST.",
        )
        response["Allow"] = "POST"
        return response
