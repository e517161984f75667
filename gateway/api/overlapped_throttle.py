"""A view base whose throttle decision overlaps its first read (the round trips to Redis and PostgreSQL at once).

Apart from gateway/api/throttling.py because DRF imports the throttle classes while it defines APIView.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class OverlappedThrottleView(APIView):
    """A view whose handler for `overlapped_throttle_methods` starts with one read-only statement (the request's
    connection): the throttles count the request before it and decide right after it, inside `throttle_decided`,
    so the waits for Redis and for PostgreSQL overlap instead of following each other.

    What a throttled request gets is unchanged: the 429 replaces whatever the statement or anything before the
    decision raised (a 404, a 400 for a repeated parameter), and nothing after the statement runs (no vendor call,
    no store read). A handler that answers without deciding is decided before its answer leaves
    (`finalize_response`). Methods not listed are throttled before the handler, as DRF does."""

    overlapped_throttle_methods: frozenset[str] = frozenset()
    _throttle_pending: list[tuple[Any, Callable[[], bool]]] | None = None

    def check_throttles(self, request: Request) -> None:
        if request.method not in self.overlapped_throttle_methods:
            super().check_throttles(request)
            return
        pending: list[tuple[Any, Callable[[], bool]]] = []
        for throttle in self.get_throttles():
            start = getattr(throttle, "allow_request_later", None)
            if start is not None:
                pending.append((throttle, start(request, self)))
            else:
                allowed = throttle.allow_request(request, self)
                pending.append((throttle, lambda allowed=allowed: allowed))
        self._throttle_pending = pending

    def throttle_decide(self) -> None:
        """Read the throttles' answers started in `check_throttles`; Throttled (429) if any refuses."""
        pending, self._throttle_pending = self._throttle_pending, None
        if not pending:
            return
        refused = [throttle for throttle, allowed in [(t, decide()) for t, decide in pending] if not allowed]
        if refused:
            durations = [duration for duration in (throttle.wait() for throttle in refused) if duration is not None]
            self.throttled(self.request, max(durations, default=None))

    @contextmanager
    def throttle_decided(self) -> Iterator[None]:
        """Run the block (the one read-only statement), then decide: a refusal replaces the block's error."""
        try:
            yield
        finally:
            self.throttle_decide()

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        if self._throttle_pending is not None:  # not decided yet (an error before the handler's statement)
            try:
                self.throttle_decide()
            except Throttled as exc:
                response = self.handle_exception(exc)
        return super().finalize_response(request, response, *args, **kwargs)
