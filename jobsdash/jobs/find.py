"""Finding a job from what a person pasted into the find box: a job id (with `$`), the URL of a
job's page on the dashboard, a registry job URL or a `_links` href (an events href too), with
stray spaces and the quotes, angle brackets and trailing punctuation chat apps add.

    wanted = parse("  <https://api.waylay.io/registry/v2/jobs/build/6ccc8843-…%24IfM2…>  ", "acme")
    wanted.job_type, wanted.job_id      # ("build", "6ccc8843-…$IfM2…")
    look_up(tenant, wanted)             # [("build", "6ccc8843-…$IfM2…")], or [] when there is none

Only the tenant being looked at is asked, whatever was pasted: a dashboard URL naming another
tenant is looked up in this one (`other_tenant` keeps the name it gave, from the text itself, so
the page can say where it looked), and nothing of any other tenant is read or shown.

What it must not do: render anything, or decide where a found job's page is (the viewer does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from jobsdash.jobs import cache
from jobsdash.tenants.models import Tenant
from jobsdash.waylay.errors import InvalidQuery, NotFound, WaylayError
from jobsdash.waylay.queries import JOB_TYPES, validate_job_id

MAX_LENGTH = 2048
WHAT_TO_PASTE = "paste a job id, the URL of a job's page, or a registry job URL"
_SHORTENED = "that id is shortened: paste the whole id (on the job's page)"
_URL = re.compile(r"https?://[^\s\"'<>`]+", re.IGNORECASE)
_WRAPPING = " \t\r\n\"'`<>\u201c\u201d\u2018\u2019"
_TRAILING = ".,;:!?)]}"
_TYPED = re.compile(rf"({'|'.join(JOB_TYPES)})(?:\s+job)?\s*[\s/]\s*(\S+)", re.IGNORECASE)
_REGISTRY_JOB = re.compile(r"/registry/v\d+/jobs/([^/]+)/([^/]+)/?$")
_REGISTRY_EVENTS = re.compile(r"/registry/v\d+/jobs/events/?$")


@dataclass(frozen=True)
class Wanted:
    """The job that was asked for: its id, its type when the text gave one, and the tenant a
    dashboard URL named if it was not this one."""

    job_id: str
    job_type: str | None = None
    other_tenant: str = ""


def parse(text: str, slug: str) -> Wanted:
    """The job `text` names; InvalidQuery (`q`) saying what is wrong when it names none."""
    raw = text.strip()
    if not raw:
        raise InvalidQuery("q", WHAT_TO_PASTE)
    if len(raw) > MAX_LENGTH:
        raise InvalidQuery("q", f"{len(raw)} characters is too long for a job id or URL")
    if found := _URL.search(raw):
        return _from_url(found.group(0).rstrip(_TRAILING), slug)
    if raw.strip(_WRAPPING).endswith(("\u2026", "...")):  # as lists and summaries show a long id
        raise InvalidQuery("q", _SHORTENED)
    token = _unwrapped(raw)
    if token.startswith("/"):
        return _from_url(token, slug)
    if typed := _TYPED.fullmatch(token):
        return Wanted(_job_id(typed[2]), typed[1].lower())
    return Wanted(_job_id("".join(token.split())))


def look_up(tenant: Tenant, wanted: Wanted) -> list[tuple[str, str]]:
    """The (type, id) of the tenant's jobs that `wanted` names: its type only when given, else
    every type the registry's get accepts, all at once, through the cache. [] when none has it;
    the client's error when some could not be asked (Waylay unreachable...), as nothing can be
    said then."""
    types = [wanted.job_type] if wanted.job_type else list(JOB_TYPES)
    answers = cache.get_jobs(tenant, [(job_type, wanted.job_id) for job_type in types])
    pairs = list(zip(types, answers, strict=True))
    found = [(job_type, wanted.job_id) for job_type, answer in pairs if not isinstance(answer, WaylayError)]
    if found:
        return found
    for _, answer in pairs:
        # NotFound: not of that type; InvalidQuery: a type the registry refuses for a get.
        if isinstance(answer, WaylayError) and not isinstance(answer, NotFound | InvalidQuery):
            raise answer
    return []


def _from_url(url: str, slug: str) -> Wanted:
    parts = urlsplit(url)
    segments = parts.path.split("/")[1:]
    if segments[:1] == ["api"]:
        segments = segments[1:]
    if len(segments) >= 5 and segments[0] == "t" and segments[2] == "jobs":
        named = unquote(segments[1])
        return Wanted(_job_id(unquote(segments[4])), _job_type(unquote(segments[3])), named if named != slug else "")
    if match := _REGISTRY_JOB.search(parts.path):
        return Wanted(_job_id(unquote(match[2])), _job_type(unquote(match[1])))
    if _REGISTRY_EVENTS.search(parts.path):
        query = parse_qs(parts.query)
        job_id = (query.get("id") or [""])[0]
        job_type = (query.get("type") or [""])[0]
        if job_id:
            return Wanted(_job_id(job_id), _job_type(job_type) if job_type else None)
    if segments[:1] == ["e"]:
        raise InvalidQuery("q", "that is a signed link: open it as it is, it needs no finding")
    raise InvalidQuery("q", f"that URL is not of a job: {WHAT_TO_PASTE}")


def _unwrapped(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, text.strip(_WRAPPING).rstrip(_TRAILING)
    return text


def _job_type(value: str) -> str:
    if value not in JOB_TYPES:
        raise InvalidQuery("q", f"{value[:40]!r} is not a job type; the registry has {', '.join(JOB_TYPES)}")
    return value


def _job_id(value: str) -> str:
    if value.endswith("\u2026"):
        raise InvalidQuery("q", _SHORTENED)
    return validate_job_id(value, "q")
