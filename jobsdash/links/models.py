from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from jobsdash.tenants.models import Tenant


class EmbedLink(models.Model):
    """A signed link that shows one job list filter or one job of a tenant without a login.

    The token in the URL is signed (see `grants`); this row is what makes it expire or be revoked.
    """

    class Scope(models.TextChoices):
        LIST = "list", "Job list with a filter"
        JOB = "job", "One job"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="embed_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    # Scope LIST: the normalized upstream query (ListQuery.urlencode()); scope JOB: type and id.
    query = models.TextField(blank=True)
    job_type = models.CharField(max_length=20, blank=True)
    job_id = models.CharField(max_length=512, blank=True)
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        what = f"{self.job_type} job {self.job_id[:12]}" if self.scope == self.Scope.JOB else f"jobs ?{self.query}"
        return f"{self.tenant.slug}: {what}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
