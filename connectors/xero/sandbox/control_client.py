"""A small typed client for the Xero sandbox control API, used by tests and the demo."""

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
    """`SandboxControl("http://127.0.0.1:8710")`: the server root."""

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
        """Forget all apps, users, organisations, tokens, faults and counters; limits and clock to defaults."""
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
        webhook_key: str | None = None,
    ) -> dict[str, Any]:
        """Returns the app with its (possibly generated) client_id, client_secret and webhook_key."""
        return self._call(
            "POST",
            "/apps",
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "name": name,
                "redirect_uris": redirect_uris,
                "webhook_key": webhook_key,
            },
        )

    def register_user(
        self,
        *,
        email: str,
        user_id: UUID | str | None = None,
        given_name: str | None = None,
        family_name: str | None = None,
        tenant_ids: Iterable[UUID | str] = (),
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            "/users",
            {
                "email": email,
                "user_id": str(user_id) if user_id else None,
                "given_name": given_name,
                "family_name": family_name,
                "tenant_ids": [str(t) for t in tenant_ids],
            },
        )

    def register_organisation(
        self,
        *,
        name: str,
        tenant_id: UUID | str | None = None,
        country_code: str = "GB",
        base_currency: str | None = None,
        tenant_type: str = "ORGANISATION",
        users: Iterable[UUID | str] = (),
        seed_defaults: bool = True,
        period_lock_date: str | None = None,
    ) -> dict[str, Any]:
        """Creates the organisation (tax rates, chart of accounts, items) and gives the listed users access."""
        return self._call(
            "POST",
            "/organisations",
            {
                "name": name,
                "tenant_id": str(tenant_id) if tenant_id else None,
                "country_code": country_code,
                "base_currency": base_currency,
                "tenant_type": tenant_type,
                "users": [str(u) for u in users],
                "seed_defaults": seed_defaults,
                "period_lock_date": period_lock_date,
            },
        )

    def organisation_settings(
        self,
        tenant_id: str,
        *,
        period_lock_date: str | None = None,
        currencies: list[str] | None = None,
        name: str | None = None,
        legal_name: str | None = None,
        tax_number: str | None = None,
        registration_number: str | None = None,
        financial_year_end: tuple[int, int] | None = None,
    ) -> dict[str, Any]:
        """Change what the organisation shows; `financial_year_end` is (day, month), e.g. (31, 3)."""
        body: dict[str, Any] = {}
        if period_lock_date is not None:
            body["period_lock_date"] = period_lock_date
        if currencies is not None:
            body["currencies"] = currencies
        for key, value in (
            ("name", name),
            ("legal_name", legal_name),
            ("tax_number", tax_number),
            ("registration_number", registration_number),
        ):
            if value is not None:
                body[key] = value
        if financial_year_end is not None:
            body["financial_year_end"] = {"day": financial_year_end[0], "month": financial_year_end[1]}
        return self._call("PUT", f"/organisations/{tenant_id}/settings", body)

    def set_auto_consent(
        self, client_id: str, *, user_id: UUID | str, tenant_ids: Iterable[UUID | str] | None = None
    ) -> dict[str, Any]:
        """The authorize URL then redirects at once, connecting `tenant_ids` (None: all of the user's)."""
        return self._call(
            "PUT",
            f"/apps/{client_id}/auto-consent",
            {"user_id": str(user_id), "tenant_ids": None if tenant_ids is None else [str(t) for t in tenant_ids]},
        )

    def clear_auto_consent(self, client_id: str) -> None:
        self._call("DELETE", f"/apps/{client_id}/auto-consent")

    def connections(self) -> list[dict[str, Any]]:
        return self._call("GET", "/connections")

    # ----------------------------------------------------------------- data

    def seed(
        self,
        tenant_id: str,
        *,
        contacts: int = 0,
        invoices: int = 0,
        lines_per_invoice: int = 3,
        payments: int = 0,
        seed: int = 0,
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            f"/organisations/{tenant_id}/seed",
            {
                "contacts": contacts,
                "invoices": invoices,
                "lines_per_invoice": lines_per_invoice,
                "payments": payments,
                "seed": seed,
            },
        )

    def dump(self, tenant_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every record of the organisation by resource, in the API's JSON shape."""
        return self._call("GET", f"/organisations/{tenant_id}/dump")["records"]

    # ----------------------------------------------------------------- clock, limits, usage

    def now(self) -> str:
        return self._call("GET", "/clock")["now"]

    def advance_clock(self, seconds: float) -> str:
        """Moves the sandbox clock: token expiries, rate windows, idempotency keys and UpdatedDateUTC follow it."""
        return self._call("POST", "/clock/advance", {"seconds": seconds})["now"]

    def limits(self) -> dict[str, Any]:
        return self._call("GET", "/limits")

    def set_limits(self, **changes: float | int | None) -> dict[str, Any]:
        """concurrent_limit, minute_limit, day_limit, app_minute_limit, minute_window_seconds, day_window_seconds."""
        return self._call("PUT", "/limits", {k: v for k, v in changes.items() if v is not None})

    def reset_limit_usage(self) -> None:
        self._call("POST", "/limits/reset-usage")

    def usage(self) -> dict[str, Any]:
        return self._call("GET", "/usage")

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
        client_id: str | None = None,
        tenant_id: str | None = None,
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
                "client_id": client_id,
                "tenant_id": tenant_id,
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
        self, client_id: str, *, user_id: UUID | str | None = None, scope: str = "access", disconnect: bool = False
    ) -> int:
        """scope "access": the next API call gets 401; "all": refresh tokens die too (invalid_grant)."""
        body = {
            "client_id": client_id,
            "user_id": str(user_id) if user_id else None,
            "scope": scope,
            "disconnect": disconnect,
        }
        return self._call("POST", "/tokens/revoke", body)["revoked_access_tokens"]

    # ----------------------------------------------------------------- counters and webhooks

    def counters(self) -> dict[str, Any]:
        return self._call("GET", "/counters")

    def reset_counters(self) -> None:
        self._call("POST", "/counters/reset")

    def set_webhook(self, client_id: str, url: str, *, key: str | None = None) -> dict[str, Any]:
        """Configure the app's webhook; the intent-to-receive check starts at once (see webhook())."""
        return self._call("PUT", f"/apps/{client_id}/webhook", {"url": url, "key": key})

    def webhook(self, client_id: str) -> dict[str, Any]:
        return self._call("GET", f"/apps/{client_id}/webhook")

    def delete_webhook(self, client_id: str) -> None:
        self._call("DELETE", f"/apps/{client_id}/webhook")

    def set_webhook_config(
        self,
        *,
        batch_delay_seconds: float | None = None,
        seed: int | None = None,
        response_timeout_seconds: float | None = None,
    ) -> dict:
        """How long events are batched, the probes' seed, and how fast a receiver must answer (Xero: 5 s)."""
        body: dict[str, Any] = {}
        if response_timeout_seconds is not None:
            body["response_timeout_seconds"] = response_timeout_seconds
        if batch_delay_seconds is not None:
            body["batch_delay_seconds"] = batch_delay_seconds
        if seed is not None:
            body["seed"] = seed
        return self._call("PUT", "/webhooks/config", body)

    def webhook_deliveries(self, *, limit: int = 100, wait: bool = True, timeout: float = 10.0) -> list[dict]:
        """Delivery log (intent probes and event batches); by default waits until pending deliveries ran."""
        params: dict[str, Any] = {"limit": limit}
        if wait:
            params.update({"wait": "true", "timeout": timeout})
        return self._call("GET", "/webhooks/deliveries", **params)
