"""The login page: Django's LoginView behind the lock-out (`throttle.guard`), that never sends a
logged-in user round in a loop.

A logged-in user who opens the login page is sent on to its `next` at once. When `next` is the
login page itself (a crafted or a twice-bounced link: `/accounts/login/?next=/accounts/login/`),
Django's view refuses the loop with an exception, a 500. Here such a `next`, or any other page
under /accounts/ (logout takes POST only), is ignored, and the user lands on LOGIN_REDIRECT_URL:
their tenant's jobs, or the tenant picker.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.contrib.auth import views as auth_views

from jobsdash.ops.throttle import guard

logger = logging.getLogger(__name__)

_ACCOUNT_PAGES = "/accounts/"


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        target = super().get_redirect_url()
        if target and urlsplit(target).path.startswith(_ACCOUNT_PAGES):
            logger.info("ignored a login redirect back to an account page")
            return ""
        return target


login_view = guard(LoginView.as_view())
