"""The reference implementation of ``GET /jobs/{jobId}`` as a WSGI application.

Conforming by default. Every stage of the pipeline can be replaced by a
:class:`~jobs_conformance.reference.faults.Behaviour`, which is how the fault
catalogue and the conforming variants are served by the same code.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from jobs_conformance.contract import counts, load_contract
from jobs_conformance.oracle import describe_uuid, judge_body
from jobs_conformance.reference.faults import Behaviour, Reply, gzip_body, json_reply
from jobs_conformance.reference.store import JobStore

__all__ = [
    "API_KEY_HEADER",
    "API_PREFIX",
    "SEED_PATH",
    "SEED_PREFIX",
    "ReferenceApp",
    "canonical_document",
]

API_PREFIX = "/api/v2"
JOBS_PREFIX = API_PREFIX + "/jobs/"
# The header the reference's key goes in (serve --api-key).
API_KEY_HEADER = "X-Api-Key"
_API_KEY_ENVIRON = "HTTP_" + API_KEY_HEADER.upper().replace("-", "_")  # PEP 3333
# Below the base URL: where the reference takes seeded jobs (--allow-seeding).
SEED_PATH = "/__seed/jobs"
SEED_PREFIX = API_PREFIX + SEED_PATH + "/"
_ALLOW = "GET, HEAD, OPTIONS"
_MAX_SEED_BODY = 1 << 20

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
}


def canonical_document(job: dict[str, Any]) -> dict[str, Any]:
    """A stored job as served: timestamps stored to the minute gain ``:00`` seconds.

    The pattern allows ``HH:MM``, RFC 3339 does not; serving seconds satisfies
    both while keeping the instant (and every fraction digit) as stored.
    """
    return {
        key: value[:16] + ":00Z"
        if key in ("createdAt", "updatedAt") and isinstance(value, str) and len(value) == 17
        else value
        for key, value in job.items()
    }


class ReferenceApp:
    """WSGI app: ``GET {API_PREFIX}/jobs/{jobId}``, and the opt-in seeding endpoint."""

    def __init__(
        self,
        store: JobStore,
        *,
        behaviours: Sequence[Behaviour] = (),
        api_key: str | None = None,
        allow_seeding: bool = False,
        latency_ms: int = 0,
    ) -> None:
        self.store = store
        self.api_key = api_key
        self.allow_seeding = allow_seeding
        self.latency_s = latency_ms / 1000
        self._pattern = load_contract().path_pattern
        self._stage: dict[str, Any] = {}
        for behaviour in behaviours:
            for stage in (
                "parse_id",
                "malformed",
                "lookup",
                "unknown",
                "on_read",
                "encode",
                "store",
            ):
                if getattr(behaviour, stage) is not None:
                    self._stage[stage] = getattr(behaviour, stage)
        self._renders = [b.render for b in behaviours if b.render is not None]
        changed_types = [b.content_type for b in behaviours if b.content_type != "application/json"]
        self._content_type = changed_types[-1] if changed_types else "application/json"
        self._close = any(b.close_connection for b in behaviours)
        self._compress = any(b.compress for b in behaviours)
        self._auth_when_absent = any(b.auth_when_absent for b in behaviours)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.latency_s:
            time.sleep(self.latency_s)
        reply = self._route(environ)
        headers = list(reply.headers)
        body = reply.body
        if (
            self._compress
            and reply.status == 200
            and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
        ):
            body = gzip_body(body)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        if not self._close:
            # WSGI apps may not send hop-by-hop headers (PEP 3333); leaving the
            # length out makes waitress end the response with Connection: close.
            headers.append(("Content-Length", str(len(body))))
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Status')}", headers)
        if environ["REQUEST_METHOD"] == "HEAD":
            return [b""]
        return iter([body]) if self._close else [body]

    def _route(self, environ: dict[str, Any]) -> Reply:
        path = _raw_path(environ)
        method = environ["REQUEST_METHOD"]
        if self.allow_seeding and path.startswith(SEED_PREFIX):
            return self._authorised(environ) or self._seed(environ, path[len(SEED_PREFIX) :])
        if not path.startswith(JOBS_PREFIX):
            return json_reply(404, {"error": "no such resource"})
        if method == "OPTIONS":
            return Reply(204, (("Allow", _ALLOW),), b"")
        if method not in ("GET", "HEAD"):
            return Reply(
                405,
                (("Allow", _ALLOW), ("Content-Type", "application/json")),
                b'{"error": "method not allowed"}',
            )
        return self._authorised(environ) or self._get(path[len(JOBS_PREFIX) :])

    def _authorised(self, environ: dict[str, Any]) -> Reply | None:
        if self.api_key is None:
            return None
        given = environ.get(_API_KEY_ENVIRON)
        if given is None and self._auth_when_absent:
            return None
        if given is not None and hmac.compare_digest(
            given.encode("latin-1"), self.api_key.encode("utf-8")
        ):
            return None
        reply = json_reply(401, {"error": f"missing or invalid {API_KEY_HEADER}"})
        return Reply(401, (*reply.headers, ("WWW-Authenticate", 'ApiKey realm="jobs"')), reply.body)

    def _get(self, segment: str) -> Reply:
        raw = _decode(segment)
        parse = self._stage.get("parse_id", self._parse_id)
        job_id = parse(raw) if raw is not None else None
        if job_id is None:
            return self._stage.get("malformed", _malformed)(raw if raw is not None else segment)
        job = self._stage.get("lookup", JobStore.get)(self.store, job_id)
        if job is None:
            return self._stage.get("unknown", _unknown)(job_id)
        if "on_read" in self._stage:
            self._stage["on_read"](self.store, job)
        document: Any = canonical_document(job)
        for render in self._renders:
            document = render(document)
        body = self._stage.get("encode", _encode)(document)
        headers = (("Content-Type", self._content_type),) if self._content_type else ()
        return Reply(200, headers, body)

    def _parse_id(self, raw: str) -> str | None:
        return raw if self._pattern.search(raw) else None

    def _seed(self, environ: dict[str, Any], segment: str) -> Reply:
        if environ["REQUEST_METHOD"] != "PUT":
            return Reply(
                405,
                (("Allow", "PUT"), ("Content-Type", "application/json")),
                b'{"error": "use PUT"}',
            )
        raw = _decode(segment)
        if raw is None or not self._pattern.search(raw):
            return json_reply(400, {"error": "malformed jobId in the seeding URL"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_reply(400, {"error": "bad Content-Length"})
        if length > _MAX_SEED_BODY:
            return json_reply(413, {"error": f"body over {_MAX_SEED_BODY} bytes"})
        body = environ["wsgi.input"].read(length)
        judgement = judge_body(body, "application/json")
        problems = [
            f"{v.requirement}: {v.message}"
            for v in judgement.violations
            if counts(v.severity, strict=False)
        ]
        if problems:
            return json_reply(
                400, {"error": "the body is not a conforming job", "violations": problems}
            )
        job = json.loads(body)
        if job["id"].lower() != raw.lower():
            return json_reply(
                400, {"error": f"body id {job['id']!r} differs from the URL's {raw!r}"}
            )
        self.store.put(self._stage.get("store", lambda j: j)(job))
        return Reply(
            201, (("Content-Type", "application/json"), ("Location", JOBS_PREFIX + job["id"])), body
        )


def _raw_path(environ: dict[str, Any]) -> str:
    # REQUEST_URI keeps %2F and friends encoded, so an id holding "/" is one
    # segment to judge, not a different route.
    uri = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    if uri.startswith(("http://", "https://")):
        uri = urlsplit(uri).path
    return uri.split("?", 1)[0]


def _decode(segment: str) -> str | None:
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _malformed(raw: str) -> Reply:
    return json_reply(400, {"error": "malformed jobId", "detail": describe_uuid(raw)})


def _unknown(job_id: str) -> Reply:
    return json_reply(404, {"error": "job not found", "jobId": job_id})


def _encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")
