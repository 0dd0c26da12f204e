"""What a live page's JS needs from the settings, as data-* attributes of its freshness line:

    <p id="live-status" ... {% live_timings %}>

static/js/live.js reads them (`timingsOf`), so tests can shorten what a browser would otherwise
wait out (a hidden tab's grace period, the reconnect backoff, the resync period).
"""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


@register.simple_tag
def live_timings() -> SafeString:
    return format_html(
        'data-resync-ms="{}" data-hidden-grace-ms="{}" data-backoff-first-ms="{}" data-backoff-max-ms="{}"',
        _ms(settings.LIVE_PAGE_RESYNC),
        _ms(settings.LIVE_PAGE_HIDDEN_GRACE),
        _ms(settings.LIVE_PAGE_BACKOFF_BASE),
        _ms(settings.LIVE_PAGE_BACKOFF_MAX),
    )
