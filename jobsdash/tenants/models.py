from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

from jobsdash.tenants import crypto


class AuthMode(models.TextChoices):
    BASIC = "basic", "HTTP Basic (API key and secret)"
    TOKEN = "token", "Waylay token (JWT from the accounts service)"


def validate_http_url(value: str) -> None:
    URLValidator(schemes=["http", "https"])(value)
    if urlsplit(value).query or urlsplit(value).fragment:
        raise ValidationError("The URL must not carry a query or a fragment.")


class Tenant(models.Model):
    """A Waylay tenant whose jobs the dashboard shows, with the credentials it uses upstream.

    The API secret is stored encrypted (see `crypto`); read it with `api_secret`, change it with
    `set_api_secret`. It never leaves the process except in the upstream's Authorization header.
    """

    slug = models.SlugField(unique=True, help_text="The tenant's name in URLs: /t/<slug>/jobs/.")
    name = models.CharField("display name", max_length=200)
    gateway_url = models.CharField(
        "gateway URL",
        max_length=500,
        validators=[validate_http_url],
        help_text="The Waylay API gateway, e.g. https://api.waylay.io",
    )
    accounts_url = models.CharField(
        "accounts URL",
        max_length=500,
        blank=True,
        validators=[validate_http_url],
        help_text="Token mode: the accounts service base (POST <accounts URL>/tokens). "
        "Empty means <gateway URL>/accounts/v1.",
    )
    auth_mode = models.CharField(max_length=10, choices=AuthMode.choices, default=AuthMode.BASIC)
    api_key = models.CharField("API key", max_length=200)
    api_secret_encrypted = models.TextField(editable=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="tenants")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def api_secret(self) -> str:
        return crypto.decrypt(self.api_secret_encrypted)

    def set_api_secret(self, secret: str) -> None:
        self.api_secret_encrypted = crypto.encrypt(secret)

    @property
    def token_url(self) -> str:
        base = self.accounts_url or f"{self.gateway_url.rstrip('/')}/accounts/v1"
        return f"{base.rstrip('/')}/tokens"


class Membership(models.Model):
    """Grants a user access to a tenant's jobs. A user may belong to several tenants."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_user_tenant")]
        ordering = ["tenant__slug", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant.slug}"
