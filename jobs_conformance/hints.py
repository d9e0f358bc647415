"""What a run tells the user to check: why a requirement was not checked, and what a run that
found none of its declared jobs saw.

Plain functions of what the run observed; the options are named as the run
was started with them (the CLI's ``--job-id`` or pytest's
``--conformance-job-id``), through ``spell``.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

from jobs_conformance.exchange import Exchange
from jobs_conformance.redact import redact_url
from jobs_conformance.settings import Option, option

__all__ = [
    "NOT_FOUND",
    "base_path_hint",
    "moved_to",
    "not_checked_reason",
    "not_found_hint",
]

Spell = Callable[[Option], str]

# Answers that say "no such job here" (or "not without credentials"): when
# every form of every declared job gets one, the run (or the audit) was
# pointed at the wrong place, or lacks credentials. A redirect, a refusal as
# malformed or a crash is behaviour to judge.
NOT_FOUND = frozenset({404, 410, 401, 403})

# Why a requirement of the catalogue may be unjudgeable though held jobs were read.
_NOTHING_TO_JUDGE = {
    "http.case-insensitive": (
        "no held job compared in two cases: none has hex letters, or none was found in any case"
    ),
    "body.timeline": (
        "no held job had two timestamps that match the pattern to compare (see body.datetime)"
    ),
    "body.workflow-order": "no held job's jobConfigJson has a workflowExecutionOrder",
}


def not_checked_reason(applies: str, spell: Spell = lambda o: o.cli_flag) -> str:
    """Why a requirement that needs ``applies`` (the catalogue's) was not checked."""
    job_id, ids_file, seed_url, auth_header = (
        spell(option(name)) for name in ("job-id", "job-ids-file", "seed-url", "auth-header")
    )
    return {
        "known-job": f"no known jobs: give {job_id} / {ids_file}, or {seed_url}",
        "credentials": f"no credential header declared ({auth_header}; opt-in: the doc page "
        "documents no authentication)",
        "seeding": f"no seeding URL configured ({seed_url})",
        "always": "no test reached it",
    }[applies]


def nothing_to_judge(requirement: str) -> str:
    """Why a known-job requirement was not checked although held jobs were read."""
    return _NOTHING_TO_JUDGE.get(
        requirement, "no held job's answer could show it (what it judges was absent or invalid)"
    )


def not_found_hint(
    answers: Sequence[Exchange],
    declared: int,
    base_url: str,
    documented: str,
    spell: Spell,
    statuses: Mapping[int, int] | None = None,
) -> str:
    """What was observed when none of the ``declared`` jobs was found in any form, and what to check.

    ``answers`` are every form tried, or (with ``statuses``, how many answers of each
    status there were) the first of each; ``documented`` is the spec's server URL.
    """
    statuses = statuses or collections.Counter(e.response.status for e in answers)
    seen = (
        f"every one answered {next(iter(statuses))}"
        if len(statuses) == 1
        else "answered " + ", ".join(f"{s} ({n})" for s, n in sorted(statuses.items()))
    )
    first = answers[0]
    url = first.request.url if first.request else "?"
    jobs = (
        "the declared job was not" if declared == 1 else f"none of the {declared} declared jobs was"
    )
    hint = (
        f"{jobs} found in any form tried ({sum(statuses.values())} requests for "
        f"{'it' if declared == 1 else 'them'}, {seen}; "
        f"e.g. GET {url} -> {first.response.status}). "
    )
    if statuses.keys() & {401, 403}:
        hint += f"The target may require credentials ({spell(option('header'))} 'Name: value'). "
    hint += (
        f"Check that the ids ({spell(option('job-id'))}) are held by this target, and the base URL"
    )
    return hint + base_path_hint(base_url, documented) + "."


def base_path_hint(base_url: str, documented: str) -> str:
    """Where the documented base path would put the endpoint, when ``base_url`` lacks it."""
    base_path = urlsplit(documented).path.rstrip("/")
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    if path.endswith("/jobs"):
        return ": it ends in /jobs, and the suite appends /jobs/{jobId} to it"
    if base_path and not path.endswith(base_path):
        # The base URL's query (an API key) goes with every request, after the path.
        where = urlunsplit(parts._replace(path=f"{path}{base_path}/jobs/{{jobId}}"))
        return (
            f": the documented base path is {base_path}, which would put the endpoint at "
            f"{redact_url(where)}"
        )
    return ""


def moved_to(url: str, status: int, headers: Sequence[tuple[str, str]]) -> str | None:
    """The origin (``scheme://host``) an answer to ``url`` redirects the same path and query
    to, or None: http to https at the edge, another host, or a browser's HSTS upgrade
    (which Chrome's HAR records as a 307 "Internal Redirect"). Sent before any route saw
    the id, such an answer says nothing of the job: the endpoint is at the other origin."""
    if not 300 <= status < 400:
        return None
    location = next((value for name, value in headers if name.lower() == "location"), None)
    if not location:
        return None
    try:
        asked, sent_to = urlsplit(url), urlsplit(urljoin(url, location))
    except ValueError:  # a host urlsplit refuses (an unclosed "[")
        return None
    if (asked.path, asked.query) != (sent_to.path, sent_to.query):
        return None
    if (asked.scheme, asked.netloc) == (sent_to.scheme, sent_to.netloc):
        return None
    return f"{sent_to.scheme}://{sent_to.netloc}"
