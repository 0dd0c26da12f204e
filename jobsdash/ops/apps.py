from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "jobsdash.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.core.signals import request_finished
        from prometheus_client import disable_created_metrics

        from jobsdash.ops import metrics, middleware, throttle
        from jobsdash.waylay import client

        # The *_created series double /metrics and nobody graphs them.
        disable_created_metrics()
        # The client calls its module-level `observe` hook once per upstream request.
        client.observe = metrics.observe_upstream
        user_login_failed.connect(throttle.count_failure, dispatch_uid="jobsdash.ops.count_failure")
        user_logged_in.connect(throttle.reset_user, dispatch_uid="jobsdash.ops.reset_user")
        request_finished.connect(middleware.clear_request_id, dispatch_uid="jobsdash.ops.clear_request_id")
