from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from jobsdash.links.models import EmbedLink


@admin.register(EmbedLink)
class EmbedLinkAdmin(admin.ModelAdmin):
    list_display = ["tenant", "scope", "__str__", "created_by", "created", "expires_at", "revoked_at"]
    list_filter = ["tenant", "scope", "revoked_at"]
    readonly_fields = ["tenant", "created_by", "created", "scope", "query", "job_type", "job_id"]
    fields = [
        "tenant",
        "scope",
        "query",
        "job_type",
        "job_id",
        "label",
        "created_by",
        "created",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # links are made from the pages or `manage.py embed_link`, which sign them

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: HttpRequest, queryset: QuerySet[EmbedLink]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} link(s).")
