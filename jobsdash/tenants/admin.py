from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from jobsdash.tenants.models import Membership, Tenant


class TenantForm(forms.ModelForm):
    # Write-only: the widget never renders the stored value, empty keeps it.
    api_secret = forms.CharField(
        label="API secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the current secret.",
    )

    class Meta:
        model = Tenant
        fields = ["slug", "name", "gateway_url", "accounts_url", "auth_mode", "api_key"]

    def clean_api_secret(self) -> str:
        secret = self.cleaned_data["api_secret"]
        if not secret and not self.instance.api_secret_encrypted:
            raise forms.ValidationError("A new tenant needs an API secret.")
        return secret

    def save(self, commit: bool = True) -> Tenant:
        tenant = super().save(commit=False)
        if self.cleaned_data["api_secret"]:
            tenant.set_api_secret(self.cleaned_data["api_secret"])
        if commit:
            tenant.save()
        return tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
    list_display = ["slug", "name", "gateway_url", "auth_mode", "api_key"]
    search_fields = ["slug", "name"]
    inlines = [MembershipInline]

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, change: bool = False, **kwargs: Any):
        # The form's own api_secret field is not a model field; keep the admin from looking it up.
        kwargs["fields"] = [*TenantForm.Meta.fields, "api_secret"]
        return super().get_form(request, obj, change, **kwargs)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["tenant", "user", "created"]
    list_filter = ["tenant"]
    search_fields = ["user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]
