"""The sandbox control API (JSON under /_control/…): apps, users, organisations, clock, limits, faults, webhooks."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.xero.sandbox.state import AutoConsent

if TYPE_CHECKING:
    from connectors.xero.sandbox.server import Sandbox


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, default=str), status=status, content_type="application/json")


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _lookup(mapping: dict[Any, Any], key: Any, what: str) -> Any:
    try:
        return mapping[key]
    except KeyError:
        raise ControlError(f"unknown {what} {key}", 404) from None


def _rules() -> list[Rule]:
    return [
        Rule("/_control/health", methods=["GET"], endpoint="health"),
        Rule("/_control/reset", methods=["POST"], endpoint="reset"),
        Rule("/_control/snapshot", methods=["POST"], endpoint="snapshot"),
        Rule("/_control/apps", methods=["GET"], endpoint="list_apps"),
        Rule("/_control/apps", methods=["POST"], endpoint="create_app"),
        Rule("/_control/apps/<client_id>/auto-consent", methods=["PUT", "POST"], endpoint="set_auto_consent"),
        Rule("/_control/apps/<client_id>/auto-consent", methods=["DELETE"], endpoint="clear_auto_consent"),
        Rule("/_control/apps/<client_id>/webhook", methods=["GET"], endpoint="get_webhook"),
        Rule("/_control/apps/<client_id>/webhook", methods=["PUT", "POST"], endpoint="set_webhook"),
        Rule("/_control/apps/<client_id>/webhook", methods=["DELETE"], endpoint="delete_webhook"),
        Rule("/_control/users", methods=["GET"], endpoint="list_users"),
        Rule("/_control/users", methods=["POST"], endpoint="create_user"),
        Rule("/_control/organisations", methods=["GET"], endpoint="list_organisations"),
        Rule("/_control/organisations", methods=["POST"], endpoint="create_organisation"),
        Rule("/_control/organisations/<tenant_id>/settings", methods=["PUT", "POST"], endpoint="org_settings"),
        Rule("/_control/organisations/<tenant_id>/seed", methods=["POST"], endpoint="seed"),
        Rule("/_control/organisations/<tenant_id>/dump", methods=["GET"], endpoint="dump"),
        Rule("/_control/connections", methods=["GET"], endpoint="connections"),
        Rule("/_control/clock", methods=["GET"], endpoint="clock"),
        Rule("/_control/clock/advance", methods=["POST"], endpoint="advance_clock"),
        Rule("/_control/limits", methods=["GET"], endpoint="get_limits"),
        Rule("/_control/limits", methods=["PUT", "POST"], endpoint="set_limits"),
        Rule("/_control/limits/reset-usage", methods=["POST"], endpoint="reset_limit_usage"),
        Rule("/_control/usage", methods=["GET"], endpoint="usage"),
        Rule("/_control/faults", methods=["GET"], endpoint="list_faults"),
        Rule("/_control/faults", methods=["POST"], endpoint="add_fault"),
        Rule("/_control/faults", methods=["DELETE"], endpoint="clear_faults"),
        Rule("/_control/faults/<fault_id>", methods=["DELETE"], endpoint="remove_fault"),
        Rule("/_control/tokens/revoke", methods=["POST"], endpoint="revoke_tokens"),
        Rule("/_control/counters", methods=["GET"], endpoint="counters"),
        Rule("/_control/counters/reset", methods=["POST"], endpoint="reset_counters"),
        Rule("/_control/webhooks/config", methods=["GET", "PUT", "POST"], endpoint="webhook_config"),
        Rule("/_control/webhooks/deliveries", methods=["GET"], endpoint="webhook_deliveries"),
    ]


class ControlAPI:
    """Unauthenticated by design: the sandbox binds to 127.0.0.1 and is a test double, not a service."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.url_map = Map(_rules(), strict_slashes=False)

    def handle(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
            body = self._body(request)
            handler: Callable[..., Any] = getattr(self, f"_{endpoint}")
            result = handler(request, body, **values)
        except ControlError as exc:
            return _json({"error": str(exc)}, exc.status)
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        except KeyError as exc:
            return _json({"error": f"missing field: {exc.args[0] if exc.args else exc}"}, 400)
        except NotFound:
            return _json({"error": f"no control endpoint {request.method} {request.path}"}, 404)
        except HTTPException as exc:
            return _json({"error": exc.description or exc.name}, exc.code or 400)
        if isinstance(result, Response):
            return result
        return _json(result)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.method in ("GET", "DELETE") or not request.get_data():
            return {}
        data = json.loads(request.get_data(as_text=True))
        if not isinstance(data, dict):
            raise ControlError("the request body must be a JSON object")
        return data

    def _organisation(self, tenant_id: str) -> Any:
        try:
            key = UUID(tenant_id)
        except ValueError:
            raise ControlError(f"unknown organisation {tenant_id}", 404) from None
        return _lookup(self.sandbox.world.organisations, key, "organisation")

    # ----------------------------------------------------------------- health, reset, snapshot

    def _health(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        world = self.sandbox.world
        with world.lock:
            return {
                "status": "ok",
                "now": world.clock.now().isoformat(),
                "apps": len(world.apps),
                "users": len(world.users),
                "organisations": len(world.organisations),
                "connections": len(world.connections),
            }

    def _reset(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.reset()
        return {"status": "reset"}

    def _snapshot(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {"path": str(self.sandbox.save_snapshot(body.get("path")))}

    # ----------------------------------------------------------------- apps, users, organisations

    def _list_apps(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [app.to_json() for app in self.sandbox.world.apps.values()]

    def _create_app(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        redirect_uris = body.get("redirect_uris")
        if not isinstance(redirect_uris, list) or not redirect_uris:
            raise ControlError("redirect_uris (a non-empty list) is required")
        app = self.sandbox.register_app(
            # Xero client ids are 32 upper-case hex characters; secrets are 48 characters.
            client_id=str(body.get("client_id") or uuid.uuid4().hex.upper()),
            client_secret=str(body.get("client_secret") or secrets.token_urlsafe(36)),
            name=str(body.get("name") or "Sandbox app"),
            redirect_uris=[str(uri) for uri in redirect_uris],
            webhook_key=str(body.get("webhook_key") or secrets.token_urlsafe(64)),
        )
        return app.to_json()

    def _set_auto_consent(self, request: Request, body: dict[str, Any], client_id: str) -> dict[str, Any]:
        world = self.sandbox.world
        user_id = UUID(str(body["user_id"]))
        tenants = body.get("tenant_ids")
        with world.lock:
            _lookup(world.apps, client_id, "app")
            _lookup(world.users, user_id, "user")
            consent = AutoConsent(
                user_id=user_id,
                tenant_ids=None if tenants is None else frozenset(UUID(str(t)) for t in tenants),
            )
            world.auto_consent[client_id] = consent
        return {"client_id": client_id, **consent.to_json()}

    def _clear_auto_consent(self, request: Request, body: dict[str, Any], client_id: str) -> dict[str, Any]:
        with self.sandbox.world.lock:
            self.sandbox.world.auto_consent.pop(client_id, None)
        return {"client_id": client_id, "auto_consent": None}

    def _get_webhook(self, request: Request, body: dict[str, Any], client_id: str) -> dict[str, Any]:
        with self.sandbox.world.lock:
            _lookup(self.sandbox.world.apps, client_id, "app")
        return self.sandbox.webhooks.state(client_id)

    def _set_webhook(self, request: Request, body: dict[str, Any], client_id: str) -> dict[str, Any]:
        """Like saving the webhook in the developer portal: a URL (and optionally a new key), then the check."""
        url = str(body["url"])
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise ControlError("the webhook URL must use https (plain http only to the loopback host)")
        with self.sandbox.world.lock:
            app = _lookup(self.sandbox.world.apps, client_id, "app")
            app.webhook_url = url
            if body.get("key"):
                app.webhook_key = str(body["key"])
            key = app.webhook_key
        return {**self.sandbox.webhooks.configure(client_id, url), "key": key}

    def _delete_webhook(self, request: Request, body: dict[str, Any], client_id: str) -> dict[str, Any]:
        with self.sandbox.world.lock:
            app = _lookup(self.sandbox.world.apps, client_id, "app")
            app.webhook_url = None
        return self.sandbox.webhooks.configure(client_id, None)

    def _list_users(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [user.to_json() for user in self.sandbox.world.users.values()]

    def _create_user(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        email = str(body.get("email") or "")
        if "@" not in email:
            raise ControlError("email is required")
        user = self.sandbox.register_user(
            user_id=UUID(str(body["user_id"])) if body.get("user_id") else uuid.uuid4(),
            email=email,
            given_name=str(body.get("given_name") or email.split("@")[0].title()),
            family_name=str(body.get("family_name") or "User"),
            tenant_ids=[UUID(str(t)) for t in body.get("tenant_ids", [])],
        )
        return user.to_json()

    def _list_organisations(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [org.summary() for org in self.sandbox.world.organisations.values()]

    def _create_organisation(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        users = [UUID(str(u)) for u in body.get("users", [])]
        lock = body.get("period_lock_date")
        org = self.sandbox.register_organisation(
            tenant_id=UUID(str(body["tenant_id"])) if body.get("tenant_id") else uuid.uuid4(),
            name=str(body.get("name") or "Demo Company"),
            country_code=str(body.get("country_code") or "GB"),
            base_currency=str(
                body.get("base_currency")
                or {"AU": "AUD", "NZ": "NZD"}.get(str(body.get("country_code") or "GB"), "GBP")
            ),
            tenant_type=str(body.get("tenant_type") or "ORGANISATION"),
            user_ids=users,
            seed_defaults=bool(body.get("seed_defaults", True)),
            period_lock_date=date.fromisoformat(lock) if lock else None,
        )
        return {**org.summary(), "users": [str(u) for u in users]}

    def _org_settings(self, request: Request, body: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        org = self._organisation(tenant_id)
        store = org.store
        year_end = body.get("financial_year_end")
        if year_end is not None:
            day, month = _year_end(year_end)
        with self.sandbox.world.lock, store.lock:
            if "period_lock_date" in body:
                lock = body["period_lock_date"]
                store.period_lock_date = date.fromisoformat(lock) if lock else None
            if "currencies" in body:
                store.currencies = {store.base_currency, *(str(c).upper() for c in body["currencies"])}
            if body.get("name"):
                # The organisation's display name: GET Organisation's Name and the connections' tenantName.
                org.name = store.name = str(body["name"])
            if "legal_name" in body:
                store.legal_name = str(body["legal_name"] or org.name)
            if "tax_number" in body:
                store.tax_number = str(body["tax_number"]) if body["tax_number"] else None
            if "registration_number" in body:
                number = body["registration_number"]
                store.registration_number = str(number) if number else None
            if year_end is not None:
                store.year_end_day, store.year_end_month = day, month
            return {
                "tenant_id": tenant_id,
                "period_lock_date": store.period_lock_date.isoformat() if store.period_lock_date else None,
                "currencies": sorted(store.currencies),
                "name": org.name,
                "legal_name": store.legal_name,
                "tax_number": store.tax_number,
                "registration_number": store.registration_number,
                "financial_year_end": {"day": store.year_end_day, "month": store.year_end_month},
            }

    def _seed(self, request: Request, body: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        from connectors.xero.sandbox.seed import seed_records

        org = self._organisation(tenant_id)
        created = seed_records(
            org.store,
            now=self.sandbox.world.clock.now(),
            contacts=int(body.get("contacts", 0)),
            invoices=int(body.get("invoices", 0)),
            lines_per_invoice=int(body.get("lines_per_invoice", 3)),
            payments=int(body.get("payments", 0)),
            seed=int(body.get("seed", 0)),
        )
        return {"tenant_id": tenant_id, **created}

    def _dump(self, request: Request, body: dict[str, Any], tenant_id: str) -> dict[str, Any]:
        from connectors.xero.sandbox.resources import SPECS, _json_value

        org = self._organisation(tenant_id)
        store = org.store
        with store.lock:
            records = {
                name: [_json_value(spec.render(store, record, True)) for record in store.tables[name].values()]
                for name, spec in SPECS.items()
            }
            # Files as the API lists them, with their parent (endpoint and id) and their bytes in base64.
            records["Attachments"] = [
                {
                    "Endpoint": endpoint,
                    "ParentID": parent_id,
                    **{key: value for key, value in attachment.items() if not key.startswith("_")},
                    "Content": base64.b64encode(attachment["_content"]).decode("ascii"),
                }
                for (endpoint, parent_id), files in store.attachments.items()
                for attachment in files
            ]
        return {"tenant_id": tenant_id, "records": records}

    def _connections(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [c.to_json() for c in self.sandbox.world.connections.values()]

    # ----------------------------------------------------------------- clock, limits, usage

    def _clock(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        clock = self.sandbox.world.clock
        return {"now": clock.now().isoformat(), "offset_seconds": clock.offset_seconds}

    def _advance_clock(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.world.clock.advance(float(body["seconds"]))
        return self._clock(request, body)

    def _get_limits(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        config = self.sandbox.limits.config
        return {name: getattr(config, name) for name in vars(config)}

    def _set_limits(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.limits.configure(**body)
        return self._get_limits(request, body)

    def _reset_limit_usage(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.limits.reset_usage()
        return {"status": "reset"}

    def _usage(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """Calls used in the current minute/day windows and calls in progress, per app and organisation."""
        return self.sandbox.limits.usage(self.sandbox.world.clock.now())

    # ----------------------------------------------------------------- faults and tokens

    def _list_faults(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        return self.sandbox.faults.describe()

    def _add_fault(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return self.sandbox.faults.add(body).to_json()

    def _clear_faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.faults.clear()
        return {"status": "cleared"}

    def _remove_fault(self, request: Request, body: dict[str, Any], fault_id: str) -> dict[str, Any]:
        if not self.sandbox.faults.remove(fault_id):
            raise ControlError(f"unknown fault {fault_id}", 404)
        return {"removed": fault_id}

    def _revoke_tokens(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        user_id = UUID(str(body["user_id"])) if body.get("user_id") else None
        revoked = self.sandbox.oauth.revoke(
            client_id=str(body["client_id"]),
            user_id=user_id,
            scope=str(body.get("scope", "access")),
            disconnect=bool(body.get("disconnect", False)),
        )
        return {"revoked_access_tokens": revoked}

    # ----------------------------------------------------------------- counters and webhooks

    def _counters(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return self.sandbox.counters.to_json()

    def _reset_counters(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.counters.reset()
        return {"status": "reset"}

    def _webhook_config(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        webhooks = self.sandbox.webhooks
        if "batch_delay_seconds" in body:
            delay = float(body["batch_delay_seconds"])
            if delay < 0:
                raise ControlError("batch_delay_seconds must not be negative")
            webhooks.batch_delay = delay
        if "seed" in body:
            webhooks.seed = int(body["seed"])
        if "response_timeout_seconds" in body:
            timeout = float(body["response_timeout_seconds"])
            if timeout <= 0:
                raise ControlError("response_timeout_seconds must be positive")
            webhooks.timeout_seconds = timeout
        return {
            "batch_delay_seconds": webhooks.batch_delay,
            "seed": webhooks.seed,
            "response_timeout_seconds": webhooks.timeout_seconds,
        }

    def _webhook_deliveries(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        if request.args.get("wait") == "true":
            self.sandbox.webhooks.wait_idle(float(request.args.get("timeout", 10)))
        return self.sandbox.webhooks.deliveries(int(request.args.get("limit", 100)))


# Days in each month for a year end; February may end on the 29th (Xero's FinancialYearEndDay is a calendar day).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _year_end(value: Any) -> tuple[int, int]:
    """`{"day": 31, "month": 3}` checked to be a calendar day (ControlError 400 otherwise)."""
    try:
        day, month = int(value["day"]), int(value["month"])
    except (KeyError, TypeError, ValueError):
        raise ControlError('financial_year_end must be {"day": D, "month": M}', 400) from None
    if not 1 <= month <= 12 or not 1 <= day <= _MONTH_DAYS[month - 1]:
        raise ControlError(f"no such day for a year end: day {day} of month {month}", 400)
    return day, month
