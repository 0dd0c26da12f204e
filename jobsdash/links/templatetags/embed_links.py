"""What the pages' "Embed link…" form offers: the lifetimes of `jobsdash.links.grants`, not a copy."""

from __future__ import annotations

from django import template

from jobsdash.links.grants import DEFAULT_LIFETIME, LIFETIMES

register = template.Library()


@register.simple_tag
def link_lifetimes() -> list[tuple[str, bool]]:
    """`{% link_lifetimes as lifetimes %}`: (label, whether the form chooses it first) of each
    lifetime a signed link may be given, shortest first."""
    return [(label, label == DEFAULT_LIFETIME) for label, _ in LIFETIMES]
