"""The sandbox control API (JSON under /_control/…): register apps, users, divisions; clock, limits, faults."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.exact.sandbox.state import AutoConsent

if TYPE_CHECKING:
    from connectors.exact.sandbox.server import Sandbox


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
    """Fresh Rule objects per Map: werkzeug binds a Rule to a single Map."""
    return [
        Rule("/_control/health", methods=["GET"], endpoint="health"),
        Rule("/_control/reset", methods=["POST"], endpoint="reset"),
        Rule("/_control/apps", methods=["GET"], endpoint="list_apps"),
        Rule("/_control/apps", methods=["POST"], endpoint="create_app"),
        Rule("/_control/apps/<client_id>/auto-consent", methods=["PUT", "POST"], endpoint="set_auto_consent"),
        Rule("/_control/apps/<client_id>/auto-consent", methods=["DELETE"], endpoint="clear_auto_consent"),
        Rule("/_control/users", methods=["GET"], endpoint="list_users"),
        Rule("/_control/users", methods=["POST"], endpoint="create_user"),
        Rule("/_control/users/<user_id>/current-division", methods=["PUT", "POST"], endpoint="set_current_division"),
        Rule("/_control/divisions", methods=["GET"], endpoint="list_divisions"),
        Rule("/_control/divisions", methods=["POST"], endpoint="create_division"),
        Rule("/_control/divisions/<int:code>/seed", methods=["POST"], endpoint="seed"),
        Rule("/_control/divisions/<int:code>/dump", methods=["GET"], endpoint="dump"),
        Rule("/_control/divisions/<int:code>/move", methods=["POST"], endpoint="move_division"),
        Rule("/_control/clock", methods=["GET"], endpoint="clock"),
        Rule("/_control/clock/advance", methods=["POST"], endpoint="advance_clock"),
        Rule("/_control/limits", methods=["GET"], endpoint="get_limits"),
        Rule("/_control/limits", methods=["PUT", "POST"], endpoint="set_limits"),
        Rule("/_control/limits/reset-usage", methods=["POST"], endpoint="reset_limit_usage"),
        Rule("/_control/limits/usage", methods=["GET"], endpoint="limit_usage"),
        Rule("/_control/requests", methods=["GET"], endpoint="requests"),
        Rule("/_control/requests", methods=["DELETE"], endpoint="clear_requests"),
        Rule("/_control/faults", methods=["GET"], endpoint="list_faults"),
        Rule("/_control/faults", methods=["POST"], endpoint="add_fault"),
        Rule("/_control/faults", methods=["DELETE"], endpoint="clear_faults"),
        Rule("/_control/faults/<fault_id>", methods=["DELETE"], endpoint="remove_fault"),
        Rule("/_control/tokens/revoke", methods=["POST"], endpoint="revoke_tokens"),
        Rule("/_control/counters", methods=["GET"], endpoint="counters"),
        Rule("/_control/counters/reset", methods=["POST"], endpoint="reset_counters"),
        Rule("/_control/snapshot", methods=["POST"], endpoint="snapshot"),
        Rule("/_control/webhooks/config", methods=["PUT", "POST"], endpoint="webhook_config"),
        Rule("/_control/webhooks/deliveries", methods=["GET"], endpoint="webhook_deliveries"),
        Rule("/_control/webhooks/subscriptions", methods=["GET"], endpoint="webhook_subscriptions"),
        Rule(
            "/_control/webhooks/subscriptions/<subscription_id>",
            methods=["DELETE"],
            endpoint="drop_webhook_subscription",
        ),
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

    # ----------------------------------------------------------------- health, reset, snapshot

    def _health(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        world = self.sandbox.world
        with world.lock:
            return {
                "status": "ok",
                "regions": list(self.sandbox.regions),
                "now": world.clock.now().isoformat(),
                "apps": len(world.apps),
                "users": len(world.users),
                "divisions": len(world.divisions),
            }

    def _reset(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.reset()
        return {"status": "reset"}

    def _snapshot(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        path = self.sandbox.save_snapshot(body.get("path"))
        return {"path": str(path)}

    # ----------------------------------------------------------------- apps, users, divisions

    def _list_apps(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [app.to_json() for app in self.sandbox.world.apps.values()]

    def _create_app(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        redirect_uris = body.get("redirect_uris")
        if not isinstance(redirect_uris, list) or not redirect_uris:
            raise ControlError("redirect_uris (a non-empty list) is required")
        app = self.sandbox.register_app(
            # Exact client ids are GUIDs (they appear as ClientId in webhook payloads).
            client_id=str(body.get("client_id") or uuid.uuid4()),
            client_secret=str(body.get("client_secret") or secrets.token_urlsafe(16)),
            name=str(body.get("name") or "Sandbox app"),
            redirect_uris=[str(uri) for uri in redirect_uris],
            webhook_secret=str(body.get("webhook_secret") or secrets.token_urlsafe(16)),
        )
        return app.to_json()

    def _set_auto_consent(self, request: Request, body: dict[str, Any], client_id: str) -> dict[str, Any]:
        world = self.sandbox.world
        user_id = UUID(str(body["user_id"]))
        divisions = body.get("divisions")
        with world.lock:
            _lookup(world.apps, client_id, "app")
            _lookup(world.users, user_id, "user")
            consent = AutoConsent(
                user_id=user_id,
                divisions=None if divisions is None else frozenset(int(code) for code in divisions),
            )
            world.auto_consent[client_id] = consent
        return {"client_id": client_id, **consent.to_json()}

    def _clear_auto_consent(self, request: Request, body: dict[str, Any], client_id: str) -> dict[str, Any]:
        with self.sandbox.world.lock:
            self.sandbox.world.auto_consent.pop(client_id, None)
        return {"client_id": client_id, "auto_consent": None}

    def _list_users(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [user.to_json() for user in self.sandbox.world.users.values()]

    def _create_user(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        username = str(body.get("username") or "")
        if not username:
            raise ControlError("username is required")
        divisions = [int(code) for code in body.get("divisions", [])]
        with self.sandbox.world.lock:
            unknown = [code for code in divisions if code not in self.sandbox.world.divisions]
        if unknown:
            raise ControlError(f"unknown divisions {unknown}")
        user = self.sandbox.register_user(
            user_id=UUID(str(body["user_id"])) if body.get("user_id") else uuid.uuid4(),
            username=username,
            full_name=str(body.get("full_name") or username),
            email=str(body.get("email") or f"{username}@example.com"),
            region=str(body.get("region") or "nl"),
            language=str(body.get("language") or "nl-NL"),
            division_codes=divisions,
        )
        return user.to_json()

    def _set_current_division(self, request: Request, body: dict[str, Any], user_id: str) -> dict[str, Any]:
        """ "The user switched division in the UI": CurrentDivision may now point outside any grant (picqer#470)."""
        world = self.sandbox.world
        division = int(body["division"])
        with world.lock:
            user = _lookup(world.users, UUID(user_id), "user")
            if division not in world.divisions:
                raise ControlError(f"unknown division {division}")
            user.current_division = division
            return user.to_json()

    def _list_divisions(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.sandbox.world.lock:
            return [division.summary() for division in self.sandbox.world.divisions.values()]

    def _create_division(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        users = [UUID(str(user_id)) for user_id in body.get("users", [])]
        division = self.sandbox.register_division(
            code=int(body["code"]),
            name=str(body.get("name") or f"Division {body['code']}"),
            region=str(body.get("region") or "nl"),
            currency=str(body.get("currency") or "EUR"),
            country=str(body.get("country") or "NL"),
            user_ids=users,
            seed_defaults=bool(body.get("seed_defaults", True)),
        )
        return {**division.summary(), "users": [str(u) for u in users]}

    def _seed(self, request: Request, body: dict[str, Any], code: int) -> dict[str, Any]:
        from connectors.exact.sandbox import seed

        world = self.sandbox.world
        with world.lock:
            division = _lookup(world.divisions, code, "division")
            rng_seed = int(body.get("seed", 0))
            accounts = invoices = 0
            processed = int(body.get("processed", 0))
            if processed < 0 or processed > int(body.get("invoices", 0)):
                raise ControlError("processed must be between 0 and invoices")
            if int(body.get("accounts", 0)) > 0:
                accounts = seed.seed_accounts(division.store, count=int(body["accounts"]), seed=rng_seed)
            if int(body.get("invoices", 0)) > 0:
                invoices = seed.seed_invoices(
                    division.store,
                    count=int(body["invoices"]),
                    lines_per_invoice=int(body.get("lines_per_invoice", 3)),
                    seed=rng_seed,
                    processed=processed,
                )
        return {"division": code, "accounts": accounts, "invoices": invoices, "processed": processed}

    def _move_division(self, request: Request, body: dict[str, Any], code: int) -> dict[str, Any]:
        """The division moves to another database: Timestamps regenerated, DivisionMoveDate set (sandbox clock)."""
        world = self.sandbox.world
        with world.lock:
            division = _lookup(world.divisions, code, "division")
            moved = world.clock.now()
            division.store.move(moved)
            return {"division": code, "move_date": moved.isoformat(), "timestamp": division.store.timestamp}

    def _dump(self, request: Request, body: dict[str, Any], code: int) -> dict[str, Any]:
        with self.sandbox.world.lock:
            division = _lookup(self.sandbox.world.divisions, code, "division")
            base_url = request.host_url.rstrip("/") + "/" + division.region
            return {"division": code, "records": division.store.dump(base_url)}

    # ----------------------------------------------------------------- clock and limits

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

    def _limit_usage(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Calls counted per app and division now, optionally for one `client_id` and/or `division`."""
        division = request.args.get("division")
        return self.sandbox.limits.usage(
            self.sandbox.world.clock.now(),
            client_id=request.args.get("client_id"),
            division=int(division) if division else None,
        )

    def _requests(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The recent requests to Exact's URLs (method, path, decoded query, status), oldest first; `match` keeps
        those whose path contains it."""
        limit = request.args.get("limit")
        return self.sandbox.request_log.entries(int(limit) if limit else None, request.args.get("match"))

    def _clear_requests(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.request_log.clear()
        return {"status": "cleared"}

    def _reset_limit_usage(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.limits.reset_usage()
        self.sandbox.error_limits.reset()
        return {"status": "reset"}

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
        keep_refresh_rule = body.get("keep_refresh_rule", False)
        if not isinstance(keep_refresh_rule, bool):
            raise ControlError("keep_refresh_rule must be true or false")
        revoked = self.sandbox.oauth.revoke(
            client_id=str(body["client_id"]),
            user_id=user_id,
            scope=str(body.get("scope", "access")),
            keep_refresh_rule=keep_refresh_rule,
        )
        return {"revoked_access_tokens": revoked}

    # ----------------------------------------------------------------- counters and webhooks

    def _counters(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return self.sandbox.counters.to_json()

    def _reset_counters(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.sandbox.counters.reset()
        return {"status": "reset"}

    def _webhook_config(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if "validation_delay_seconds" in body:
            delay = float(body["validation_delay_seconds"])
            if delay < 0:
                raise ControlError("validation_delay_seconds must not be negative")
            self.sandbox.webhooks.validation_delay = delay
        if "deliver_events" in body:
            if not isinstance(body["deliver_events"], bool):
                raise ControlError("deliver_events must be true or false")
            self.sandbox.webhooks.deliver_events = body["deliver_events"]
        return {
            "validation_delay_seconds": self.sandbox.webhooks.validation_delay,
            "deliver_events": self.sandbox.webhooks.deliver_events,
        }

    def _webhook_deliveries(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        limit = int(request.args.get("limit", 100))
        return self.sandbox.webhooks.deliveries(limit)

    def _webhook_subscriptions(self, request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
        return self.sandbox.webhooks.subscriptions()

    def _drop_webhook_subscription(
        self, request: Request, body: dict[str, Any], subscription_id: str
    ) -> dict[str, Any]:
        """Exact dropped a subscription on its side (no API call told it to): it is gone from its division."""
        world = self.sandbox.world
        with world.lock:
            for division in world.divisions.values():
                table = division.store.tables["WebhookSubscriptions"]
                for key in list(table.rows):
                    if str(key).lower() == subscription_id.strip("{}").lower():
                        division.store.remove("WebhookSubscriptions", key, deleted_by=None, when=world.clock.now())
                        self.sandbox.webhooks.subscription_deleted(subscription_id=str(key))
                        return {"dropped": str(key), "division": division.code}
        raise ControlError(f"no webhook subscription {subscription_id}", status=404)
