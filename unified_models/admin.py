"""Operators' admin for the unified API: ledger mappings, mutations (with attempts and a retry action), reconciliations.

No secrets render here: mutations hold the unified request (never a token: authentication is added per call),
the vendor call logs (no bodies at all) are in tenants/admin.py.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html

from connectors.base.errors import VendorError
from connectors.base.mapping import LedgerMapping
from unified_models import services
from unified_models.errors import MappingInvalid
from unified_models.models import (
    ConnectionMapping,
    Mutation,
    MutationAttempt,
    MutationFile,
    MutationStatus,
    Reconciliation,
)
from unified_models.tasks import mutation_retry_enqueue

_MAPPING_FIELDS = [
    "tax_rates",
    "default_revenue_ledger_account",
    "default_sales_journal",
    "default_purchase_journal",
    "default_item",
    "items_by_code",
]


class ConnectionMappingForm(forms.ModelForm):
    class Meta:
        model = ConnectionMapping
        fields = ["connection", *_MAPPING_FIELDS]
        help_texts = {
            "tax_rates": 'Rules, e.g. [{"rate": "21", "vendor_code": "2"}, {"code": "zero", "vendor_code": "0"}]',
            "items_by_code": 'Your item codes to vendor item codes, e.g. {"hosting": "HOSTING"}',
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            mapping = LedgerMapping.from_dict({name: cleaned.get(name) for name in _MAPPING_FIELDS})
        except (ValueError, TypeError, AttributeError) as exc:
            raise forms.ValidationError(f"Not a valid mapping: {exc}") from None
        connection = cleaned.get("connection") or getattr(self.instance, "connection", None)
        try:
            # The same check as PUT /mapping: every code must exist in the connection's company.
            services.mapping_check(connection=connection, mapping=mapping)
        except MappingInvalid as exc:
            for field, reason in exc.problems:
                target = field.split(".")[0].split("[")[0]
                self.add_error(target if target in self.fields else None, reason)
        except VendorError as exc:
            raise forms.ValidationError(f"The mapping could not be checked at the vendor: {exc.message}") from None
        return cleaned


@admin.register(ConnectionMapping)
class ConnectionMappingAdmin(admin.ModelAdmin):
    form = ConnectionMappingForm
    list_display = [
        "connection",
        "default_sales_journal",
        "default_purchase_journal",
        "default_item",
        "default_revenue_ledger_account",
        "updated_at",
    ]
    search_fields = ["connection__company_name", "connection__company_id", "connection__tenant__name"]
    list_select_related = ["connection"]
    readonly_fields = ["updated_at"]

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # Django wraps this view in transaction.atomic; the mapping check calls the vendor, and the token manager
        # refuses to run inside a transaction (a rollback would lose a rotated refresh token). One row is saved.
        return self._changeform_view(request, object_id, form_url, extra_context)


class MutationAttemptInline(admin.TabularInline):
    model = MutationAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "finished_at", "vendor_status", "error_code", "error_message"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Mutation)
class MutationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "operation",
        "resource",
        "status",
        "attempts",
        "error_code",
        "connection",
        "remote_id",
    ]
    list_filter = ["status", "resource", "operation", "connection"]
    search_fields = ["id", "idempotency_key", "request_id", "remote_id", "target_id"]
    list_select_related = ["connection"]
    inlines = [MutationAttemptInline]
    actions = ["retry_mutations"]
    fields = [
        "id",
        "workspace",
        "connection",
        "resource",
        "operation",
        "target_id",
        "status",
        "attempts",
        "error_code",
        "remote_id",
        "lease_expires_at",
        "reconcile_after",
        "idempotency_key",
        "request_id",
        "request_json",
        "file_kept",
        "outcome_json",
        "created_at",
        "updated_at",
        "completed_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="request")
    def request_json(self, mutation: Mutation) -> str:
        return format_html("<pre>{}</pre>", json.dumps(mutation.request, indent=2, ensure_ascii=False))

    @admin.display(description="file kept")
    def file_kept(self, mutation: Mutation) -> str:
        """An upload's bytes are kept until it lands (the request names the file; the bytes are never shown)."""
        if mutation.operation != services.ATTACH:
            return "-"
        kept = MutationFile.objects.filter(mutation=mutation).exists()
        return f"yes, {mutation.request.get('size')} bytes, for a retry" if kept else "no (landed)"

    @admin.display(description="outcome")
    def outcome_json(self, mutation: Mutation) -> str:
        return format_html("<pre>{}</pre>", json.dumps(mutation.outcome, indent=2, ensure_ascii=False))

    @admin.action(description="Retry failed mutations (in-doubt and abandoned ones are looked up at the vendor first)")
    def retry_mutations(self, request: HttpRequest, queryset: QuerySet[Mutation]) -> None:
        now = timezone.now()
        abandoned = Q(status__in=[MutationStatus.PENDING, MutationStatus.SENDING]) & (
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
        )
        retryable = [
            str(pk)
            for pk in queryset.filter(Q(status__in=services.RETRYABLE_STATUSES) | abandoned).values_list(
                "pk", flat=True
            )
        ]
        for mutation_id in retryable:
            mutation_retry_enqueue(mutation_id)
        skipped = queryset.count() - len(retryable)
        self.message_user(request, f"Queued {len(retryable)} mutation(s) for retry.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} mutation(s) that succeeded or whose sender still holds its lease.",
                messages.WARNING,
            )


@admin.register(Reconciliation)
class ReconciliationAdmin(admin.ModelAdmin):
    """Reconciliation reports (run through the API or beat): read-only, with every item and difference."""

    list_display = ["connection", "period_start", "period_end", "status", "summary", "created_at"]
    list_filter = ["status"]
    readonly_fields = [
        "workspace",
        "connection",
        "period_start",
        "period_end",
        "reference_prefixes",
        "status",
        "error",
        "summary",
        "items",
        "created_at",
        "completed_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
