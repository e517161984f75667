"""Pages of the hosted connect flow: region → consent (at the vendor, or an API key here) → company picker → outcome.

Every text names the vendor and its companies as the connector declares them (ConnectorInfo); a connector
without regions has no region step. Views stay thin: they move data between the browser session, the forms and
tenants.connect.services.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from connectors.base.connector import Connector, Region
from connectors.registry import UnknownConnector, get_connector
from tenants import selectors
from tenants.connect import services
from tenants.connect.forms import ApiKeyForm, DivisionForm, RegionForm
from tenants.connect.messages import VendorWords, error_text
from tenants.connect.services import ApiKeyNotAccepted, FlowError, PendingConsent
from tenants.models import ConnectLink, ConnectLinkStatus

logger = logging.getLogger(__name__)

# Per-link flow state in the browser session: {"<link id>": {"region", "state_hash", "pending"}}.
SESSION_KEY = "ledgerbridge_connect"


def _steps(connector: Connector) -> list[tuple[str, str]]:
    """The progress steps this connector's flow has: a region step only if it has regions."""
    words = VendorWords.of(connector)
    steps = [("region", "Region")] if connector.regions() else []
    steps.append(("consent", "Sign in" if connector.info.auth.is_oauth else "API key"))
    steps.append(("divisions", words.companies[:1].upper() + words.companies[1:]))
    return steps


def _flow(request: HttpRequest, link_id: object) -> dict[str, Any]:
    flows = request.session.setdefault(SESSION_KEY, {})
    request.session.modified = True  # the nested dict changes in place
    return flows.setdefault(str(link_id), {})


def _forget_flow(request: HttpRequest, link_id: object) -> None:
    flows = request.session.get(SESSION_KEY, {})
    if flows.pop(str(link_id), None) is not None:
        request.session.modified = True


def _connector_by_id(connector_id: str) -> Connector | None:
    try:
        return get_connector(connector_id)
    except UnknownConnector:  # a connector removed from settings since the link was made
        return None


def _connector_of(link: ConnectLink | None) -> Connector | None:
    return _connector_by_id(link.connector) if link is not None else None


def _page(
    request: HttpRequest,
    template: str,
    link: ConnectLink | None,
    status: int = 200,
    *,
    connector: Connector | None = None,
    **context: Any,
) -> HttpResponse:
    connector = connector or _connector_of(link)
    words = VendorWords.of(connector)
    base = {
        "workspace": link.workspace if link is not None else None,
        "link": link,
        "vendor_name": words.vendor,
        "company_noun": words.company,
        "companies_noun": words.companies,
        "api_key_auth": connector is not None and not connector.info.auth.is_oauth,
        "steps": _steps(connector) if connector is not None else [],
    }
    return render(request, f"tenants/connect/{template}", {**base, **context}, status=status)


def _region_named(connector: Connector, code: str) -> Region | None:
    """The region to show on a page, None for a connector without regions."""
    return connector.region(code) if connector.regions() else None


# Codes of a second use of something that may have worked the first time.
_REPLAY_CODES = frozenset({"link_used", "state_reused"})


def error_page(request: HttpRequest, error: FlowError) -> HttpResponse:
    """The end of a failed flow: the link is consumed (unless the failure says otherwise) and the page offers
    the way back to the SaaS with the error code."""
    link = error.link
    if link is not None and error.consume:
        services.connect_link_fail(link=link, error_code=error.code)
        _forget_flow(request, link.pk)
    # A refused replay (consume=False) leaves the session alone: the genuine flow in this browser may go on.
    logger.info("connect flow failed: %s (link %s) %s", error.code, link.pk if link else "-", error.detail)
    text = error_text(error.code, VendorWords.of(_connector_of(link)))
    return_url = services.outcome_url(link, error=error.code) if link is not None else None
    if error.code in _REPLAY_CODES and link is not None and link.status != ConnectLinkStatus.FAILED:
        # A reused link or sign-in whose flow succeeded (or still goes on in another tab): sending the SaaS
        # status=error would contradict the real outcome. Only the page is shown.
        return_url = None
    return _page(
        request, "error.html", link, status=text.http_status, error=text, code=error.code, return_url=return_url
    )


def _region_for(request: HttpRequest, link: ConnectLink, connector: Connector) -> str | None:
    """The link's region: preset, chosen in this session, or "" for a connector without regions; None: the user
    has not chosen yet."""
    if not connector.regions():
        return ""
    return services.link_region(link) or _flow(request, link.pk).get("region") or None


@method_decorator(never_cache, name="dispatch")
class LinkStartView(View):
    """GET /connect/<token>: the region choice, skipped when the link presets the region."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = services.link_check_usable(selectors.connect_link_for_token(token=token))
        except FlowError as error:
            return error_page(request, error)
        connector = get_connector(link.connector)
        if services.link_region(link) or not connector.regions():
            return redirect("connect:continue", token=token)
        regions = connector.regions().values()
        form = RegionForm(
            regions=regions, words=VendorWords.of(connector), initial={"region": _flow(request, link.pk).get("region")}
        )
        return _page(request, "region.html", link, form=form, regions=regions, step="region")

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = services.link_check_usable(selectors.connect_link_for_token(token=token))
        except FlowError as error:
            return error_page(request, error)
        connector = get_connector(link.connector)
        regions = connector.regions().values()
        form = RegionForm(request.POST, regions=regions, words=VendorWords.of(connector))
        if not form.is_valid():
            return _page(request, "region.html", link, status=400, form=form, regions=regions, step="region")
        _flow(request, link.pk)["region"] = form.cleaned_data["region"]
        return redirect("connect:continue", token=token)


@method_decorator(never_cache, name="dispatch")
class ContinueView(View):
    """The consent step. OAuth: GET shows what happens next; POST binds a fresh state to the link and sends the
    browser to the vendor. API key: GET shows the key form; POST checks the key and goes on to the company picker."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = services.link_check_usable(selectors.connect_link_for_token(token=token))
        except FlowError as error:
            return error_page(request, error)
        connector = get_connector(link.connector)
        region_code = _region_for(request, link, connector)
        if region_code is None:
            return redirect("connect:start", token=token)
        if not connector.info.auth.is_oauth:
            form = ApiKeyForm(words=VendorWords.of(connector))
            return self._api_key_page(request, token, link, connector, region_code, form)
        return _page(
            request,
            "continue.html",
            link,
            region=_region_named(connector, region_code),
            region_preset=bool(services.link_region(link)),
            start_url=reverse("connect:start", kwargs={"token": token}),
            step="consent",
        )

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            link = services.link_check_usable(selectors.connect_link_for_token(token=token))
            connector = get_connector(link.connector)
            region = _region_for(request, link, connector)
            if region is None:
                return redirect("connect:start", token=token)
            if not connector.info.auth.is_oauth:
                return self._api_key_post(request, token, link, connector, region)
            started = services.connect_consent_start(link=link, region=region)
        except FlowError as error:
            return error_page(request, error)
        flow = _flow(request, link.pk)
        # The session keeps the state's hash: the callback must come back to the browser that started it.
        flow.update(region=region, state_hash=services.hash_state(started.state))
        flow.pop("pending", None)
        return HttpResponseRedirect(started.authorization_url)

    def _api_key_post(
        self, request: HttpRequest, token: str, link: ConnectLink, connector: Connector, region: str
    ) -> HttpResponse:
        form = ApiKeyForm(request.POST, words=VendorWords.of(connector))
        if not form.is_valid():
            return self._api_key_page(request, token, link, connector, region, form, status=400)
        try:
            pending = services.connect_api_key_finish(link=link, region=region, api_key=form.cleaned_data["api_key"])
        except ApiKeyNotAccepted as refused:
            form.add_error("api_key", refused.message)
            return self._api_key_page(request, token, link, connector, region, form, status=refused.http_status)
        flow = _flow(request, link.pk)
        flow.update(region=region, pending=pending.to_session())
        flow.pop("state_hash", None)
        return redirect("connect:divisions", link_id=link.pk)

    def _api_key_page(
        self,
        request: HttpRequest,
        token: str,
        link: ConnectLink,
        connector: Connector,
        region: str,
        form: ApiKeyForm,
        status: int = 200,
    ) -> HttpResponse:
        return _page(
            request,
            "api_key.html",
            link,
            status=status,
            form=form,
            region=_region_named(connector, region),
            region_preset=bool(services.link_region(link)) or not connector.regions(),
            start_url=reverse("connect:start", kwargs={"token": token}),
            step="consent",
        )


@method_decorator(never_cache, name="dispatch")
class CallbackView(View):
    """GET /connect/callback?code&state (or ?error&state): the vendor sends the browser back here."""

    def get(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state", "")
        link = selectors.connect_link_for_state(state=state)
        if link is None:
            return error_page(request, FlowError("state_mismatch", link=None))
        flow = _flow(request, link.pk)
        try:
            services.connect_state_claim(link=link, state=state, session_state_hash=flow.get("state_hash"))
            services.link_check_usable(link)
            vendor_error = request.GET.get("error")
            if vendor_error:
                raise FlowError(
                    "access_denied" if vendor_error == "access_denied" else "consent_failed",
                    link=link,
                    detail=request.GET.get("error_description", vendor_error)[:200],
                )
            code = request.GET.get("code", "")
            if not code:
                raise FlowError("consent_failed", link=link, detail="no code in the callback")
            pending = services.connect_consent_finish(link=link, region=flow["region"], code=code)
        except FlowError as error:
            return error_page(request, error)
        flow["pending"] = pending.to_session()
        flow.pop("state_hash", None)
        return redirect("connect:divisions", link_id=link.pk)


@method_decorator(never_cache, name="dispatch")
class DivisionPickerView(View):
    """The divisions the grant covers; the user ticks one or several and each becomes a connection."""

    def _load(self, request: HttpRequest, link_id: str) -> tuple[ConnectLink, PendingConsent]:
        link = ConnectLink.objects.select_related("workspace", "tenant", "repair_connection").filter(pk=link_id).first()
        if link is None:
            raise FlowError("link_not_found", link=None)
        if link.status != ConnectLinkStatus.PENDING:
            raise FlowError("link_used", link=link, consume=False)
        data = request.session.get(SESSION_KEY, {}).get(str(link.pk), {}).get("pending")
        if not data:
            # Only the browser that consented may choose; the link id alone (it is not secret) is not enough.
            raise FlowError("session_expired", link=link, consume=False)
        return link, PendingConsent.from_session(data)

    def get(self, request: HttpRequest, link_id: str) -> HttpResponse:
        try:
            link, pending = self._load(request, link_id)
        except FlowError as error:
            return error_page(request, error)
        words = VendorWords.of(get_connector(link.connector))
        form = DivisionForm(companies=pending.companies, words=words, initial={"divisions": pending.preselected})
        return self._render(request, link, pending, form)

    def post(self, request: HttpRequest, link_id: str) -> HttpResponse:
        try:
            link, pending = self._load(request, link_id)
        except FlowError as error:
            return error_page(request, error)
        words = VendorWords.of(get_connector(link.connector))
        form = DivisionForm(request.POST, companies=pending.companies, words=words)
        if not form.is_valid():
            return self._render(request, link, pending, form, status=400)
        try:
            connections = services.connect_complete(
                link_id=str(link.pk), pending=pending, company_ids=form.cleaned_data["divisions"]
            )
        except FlowError as error:
            return error_page(request, error)
        _forget_flow(request, link.pk)
        link.refresh_from_db()
        ids = [str(connection.pk) for connection in connections]
        logger.info("connect flow completed: link %s, %d connection(s)", link.pk, len(ids))
        return _page(
            request,
            "success.html",
            link,
            connections=connections,
            return_url=services.outcome_url(link, connection_ids=ids),
        )

    def _render(
        self, request: HttpRequest, link: ConnectLink, pending: PendingConsent, form: DivisionForm, status: int = 200
    ) -> HttpResponse:
        selected = set(form["divisions"].value() or [])
        return _page(
            request,
            "divisions.html",
            link,
            status=status,
            form=form,
            companies=pending.companies,
            selected=selected,
            vendor_user=pending.vendor_user,
            region=_region_named(get_connector(link.connector), pending.region),
            step="divisions",
        )


@method_decorator(never_cache, name="dispatch")
class DoneView(View):
    """The gateway's own closing page, for operator-made reconnect links that have no SaaS page to return to."""

    def get(self, request: HttpRequest) -> HttpResponse:
        succeeded = request.GET.get("status") == "success"
        # The outcome names its link: the page then names the vendor (the link's workspace is not shown).
        connector_id = selectors.connect_link_connector(link_id=request.GET.get("link_id", ""))
        connector = _connector_by_id(connector_id) if connector_id is not None else None
        error = None if succeeded else error_text(request.GET.get("error", ""), VendorWords.of(connector))
        return _page(request, "done.html", None, connector=connector, succeeded=succeeded, error=error)
