"""The verify -> build -> deploy family of a job, for the small tree on the job page.

The registry links a child to its parent (`job.parent`, with a BullMQ `queueKey` naming the
parent's queue, i.e. its type) but not a parent to its children. Children are found the way an
operator would: the parent's function's build and deploy jobs created around the parent, each
confirmed by its own `job.parent`. All reads go through the per-tenant cache; a family that
cannot be read leaves the page without a tree rather than failing it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jobsdash.jobs import cache
from jobsdash.jobs.display import JobRow, job_and_status, job_detail, parent_of
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.errors import WaylayError
from jobsdash.waylay.queries import format_timestamp, parse_list_query

logger = logging.getLogger(__name__)

CHILD_TYPES = ("build", "deploy")
MAX_CANDIDATES = 6
# How far from the parent's creation its children are looked for.
BEFORE = timedelta(minutes=5)
AFTER = timedelta(hours=2)


@dataclass
class Family:
    parent: JobRow
    children: list[JobRow] = field(default_factory=list)


def family_of(tenant: Tenant, document: dict[str, Any]) -> Family | None:
    """The family the job of `document` belongs to, or None when it has none."""
    job, status = job_and_status(document)
    try:
        if parent := parent_of(status):
            parent_doc = cache.get_job(tenant, *parent).document
            return _with_children(tenant, parent_doc)
        if job.get("type") == "verify":
            return _with_children(tenant, document)
    except (WaylayError, OverflowError) as exc:  # OverflowError: a parent created near year 1 or 9999
        logger.info("no family tree for a job of %s: %s", tenant.slug, exc)
    return None


def _with_children(tenant: Tenant, parent_doc: dict[str, Any]) -> Family:
    parent = job_detail(parent_doc).row
    return Family(parent, _children(tenant, parent))


def _children(tenant: Tenant, parent: JobRow) -> list[JobRow]:
    if parent.created_at is None or not parent.function_name:
        return []
    query = parse_list_query(
        {
            "type": list(CHILD_TYPES),
            "createdAfter": [format_timestamp(parent.created_at - BEFORE)],
            "createdBefore": [format_timestamp(parent.created_at + AFTER)],
        }
    )
    listed = cache.list_jobs(tenant, query).document.get("jobs") or []
    candidates = [
        item
        for item in listed
        if isinstance(item, dict)
        and isinstance(item.get("function"), dict)
        and item.get("type") in CHILD_TYPES
        and isinstance(item.get("id"), str)
        and item["function"].get("name") == parent.function_name
        and item["function"].get("version", "") == parent.function_version
    ][:MAX_CANDIDATES]
    children = []
    for item in candidates:
        doc = cache.get_job(tenant, item["type"], item["id"]).document
        if parent_of(job_and_status(doc)[1]) == (parent.type, parent.id):
            children.append(job_detail(doc).row)
    order = {job_type: n for n, job_type in enumerate(CHILD_TYPES)}
    return sorted(
        children, key=lambda row: (order.get(row.type, 9), row.created_at.timestamp() if row.created_at else 0)
    )
