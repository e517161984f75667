"""A small typed client for the sandbox control API, used by tests and the demo."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import httpx


class SandboxControlError(RuntimeError):
    """The control API refused a call; `status` and the server's message are kept."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class SandboxControl:
    """`SandboxControl("http://127.0.0.1:8700")`: the server root, not a region base URL."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, verify: bool | ssl.SSLContext = True) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url + "/_control", timeout=timeout, verify=verify)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: dict[str, Any] | None = None, **params: Any) -> Any:
        response = self._client.request(method, path, json=json, params=params or None)
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise SandboxControlError(response.status_code, message)
        return response.json()

    # ----------------------------------------------------------------- health and state

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def reset(self) -> None:
        """Forget all apps, users, divisions, tokens, faults and counters; limits and clock back to defaults."""
        self._call("POST", "/reset")

    def snapshot(self, path: str | None = None) -> str:
        return self._call("POST", "/snapshot", {"path": path} if path else {})["path"]

    # ----------------------------------------------------------------- registration

    def register_app(
        self,
        *,
        redirect_uris: list[str],
        client_id: str | None = None,
        client_secret: str | None = None,
        name: str = "Sandbox app",
        webhook_secret: str | None = None,
    ) -> dict[str, Any]:
        """Returns the app with its (possibly generated) client_id, client_secret and webhook_secret."""
        return self._call(
            "POST",
            "/apps",
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "name": name,
                "redirect_uris": redirect_uris,
                "webhook_secret": webhook_secret,
            },
        )

    def register_user(
        self,
        *,
        username: str,
        region: str = "nl",
        user_id: UUID | str | None = None,
        full_name: str | None = None,
        email: str | None = None,
        language: str = "nl-NL",
        divisions: Iterable[int] = (),
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            "/users",
            {
                "username": username,
                "region": region,
                "user_id": str(user_id) if user_id else None,
                "full_name": full_name,
                "email": email,
                "language": language,
                "divisions": list(divisions),
            },
        )

    def register_division(
        self,
        *,
        code: int,
        name: str,
        region: str = "nl",
        currency: str = "EUR",
        country: str = "NL",
        users: Iterable[UUID | str] = (),
        seed_defaults: bool = True,
    ) -> dict[str, Any]:
        """Creates the division's data store and gives the listed users access to it."""
        return self._call(
            "POST",
            "/divisions",
            {
                "code": code,
                "name": name,
                "region": region,
                "currency": currency,
                "country": country,
                "users": [str(u) for u in users],
                "seed_defaults": seed_defaults,
            },
        )

    def set_current_division(self, user_id: UUID | str, division: int) -> dict[str, Any]:
        """Simulates the user switching company in Exact's UI (current/Me's CurrentDivision follows)."""
        return self._call("POST", f"/users/{user_id}/current-division", {"division": division})

    def set_auto_consent(
        self, client_id: str, *, user_id: UUID | str, divisions: Iterable[int] | None = None
    ) -> dict[str, Any]:
        """GET /api/oauth2/auth for this app then redirects at once, granting `divisions` (None: all of the user's)."""
        return self._call(
            "PUT",
            f"/apps/{client_id}/auto-consent",
            {"user_id": str(user_id), "divisions": None if divisions is None else list(divisions)},
        )

    def clear_auto_consent(self, client_id: str) -> None:
        self._call("DELETE", f"/apps/{client_id}/auto-consent")

    # ----------------------------------------------------------------- data

    def seed(
        self,
        division: int,
        *,
        accounts: int = 0,
        invoices: int = 0,
        lines_per_invoice: int = 3,
        seed: int = 0,
        processed: int = 0,
    ) -> dict[str, Any]:
        """Add customers and open invoices; the first `processed` of the new invoices are processed (Status 50:
        sales entry and receivable booked, as POST PrintedSalesInvoices does)."""
        return self._call(
            "POST",
            f"/divisions/{division}/seed",
            {
                "accounts": accounts,
                "invoices": invoices,
                "lines_per_invoice": lines_per_invoice,
                "seed": seed,
                "processed": processed,
            },
        )

    def move_division(self, division: int) -> dict[str, Any]:
        """The division moves to another database: every sync Timestamp regenerated, DivisionMoveDate set."""
        return self._call("POST", f"/divisions/{division}/move")

    def dump(self, division: int) -> dict[str, list[dict[str, Any]]]:
        """Every record of the division by entity set, as the data layer renders them."""
        return self._call("GET", f"/divisions/{division}/dump")["records"]

    # ----------------------------------------------------------------- clock and limits

    def now(self) -> str:
        return self._call("GET", "/clock")["now"]

    def advance_clock(self, seconds: float) -> str:
        """Moves the sandbox clock: token expiries and rate-limit windows follow it."""
        return self._call("POST", "/clock/advance", {"seconds": seconds})["now"]

    def limits(self) -> dict[str, Any]:
        return self._call("GET", "/limits")

    def set_limits(
        self,
        *,
        minutely_limit: int | None = None,
        daily_limit: int | None = None,
        minute_window_seconds: float | None = None,
        error_limit: int | None = None,
        error_window_seconds: float | None = None,
        error_block_seconds: float | None = None,
    ) -> dict[str, Any]:
        changes = {
            "minutely_limit": minutely_limit,
            "daily_limit": daily_limit,
            "minute_window_seconds": minute_window_seconds,
            "error_limit": error_limit,
            "error_window_seconds": error_window_seconds,
            "error_block_seconds": error_block_seconds,
        }
        return self._call("PUT", "/limits", {k: v for k, v in changes.items() if v is not None})

    def limit_usage(self, client_id: str | None = None, division: int | None = None) -> list[dict[str, Any]]:
        """Calls counted now per (app, division): `{client_id, division, minutely_used, minutely_remaining,
        minutely_reset, daily_used, daily_remaining, daily_reset}` (resets in epoch ms, like the headers)."""
        params = {"client_id": client_id, "division": division}
        return self._call("GET", "/limits/usage", **{k: v for k, v in params.items() if v is not None})

    def requests(self, *, path: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Recent requests to Exact's URLs, oldest first: `{method, path, query, status, basic_auth}`;
        `path` keeps those whose path contains it."""
        params = {"match": path, "limit": limit}
        return self._call("GET", "/requests", **{k: v for k, v in params.items() if v is not None})

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def reset_limit_usage(self) -> None:
        """Forget calls counted so far (minutely, daily) and lift error-limit blocks."""
        self._call("POST", "/limits/reset-usage")

    # ----------------------------------------------------------------- faults and tokens

    def add_fault(
        self,
        *,
        kind: str,
        pattern: str,
        method: str = "*",
        probability: float | None = None,
        times: int | None = None,
        seed: int = 0,
        latency_ms: int = 0,
        region: str | None = None,
        client_id: str | None = None,
        revoke_scope: str = "access",
    ) -> dict[str, Any]:
        """kind: 500, 503, latency, drop_after_apply, drop_before_apply, revoke_tokens; pattern globs the path."""
        return self._call(
            "POST",
            "/faults",
            {
                "kind": kind,
                "pattern": pattern,
                "method": method,
                "probability": probability,
                "times": times,
                "seed": seed,
                "latency_ms": latency_ms,
                "region": region,
                "client_id": client_id,
                "revoke_scope": revoke_scope,
            },
        )

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "/faults")

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def revoke_tokens(
        self,
        client_id: str,
        *,
        user_id: UUID | str | None = None,
        scope: str = "access",
        keep_refresh_rule: bool = False,
    ) -> int:
        """scope "access": the next API call gets 401; "all": the refresh token dies too (re-consent needed).

        keep_refresh_rule (scope "access" only): a refresh within 570 s of the last issue is still refused as too
        early (Exact invalidated the token on its side); without it the sandbox lifts that rule.
        """
        body: dict[str, Any] = {"client_id": client_id, "user_id": str(user_id) if user_id else None, "scope": scope}
        if keep_refresh_rule:
            body["keep_refresh_rule"] = True
        return self._call("POST", "/tokens/revoke", body)["revoked_access_tokens"]

    # ----------------------------------------------------------------- counters and webhooks

    def counters(self) -> dict[str, Any]:
        return self._call("GET", "/counters")

    def reset_counters(self) -> None:
        self._call("POST", "/counters/reset")

    def set_webhook_validation_delay(self, seconds: float) -> None:
        self._call("PUT", "/webhooks/config", {"validation_delay_seconds": seconds})

    def webhook_deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._call("GET", "/webhooks/deliveries", limit=limit)

    def webhook_subscriptions(self) -> list[dict[str, Any]]:
        return self._call("GET", "/webhooks/subscriptions")

    def drop_webhook_subscription(self, subscription_id: str) -> dict[str, Any]:
        """Exact drops a subscription on its own (the client is not told)."""
        return self._call("DELETE", f"/webhooks/subscriptions/{subscription_id}")

    def set_webhook_delivery(self, deliver_events: bool) -> None:
        """False: events are lost (listed as not sent, counted as missed), as when Exact fails to deliver."""
        self._call("PUT", "/webhooks/config", {"deliver_events": deliver_events})
