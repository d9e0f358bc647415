"""The one HTTP client the suite talks to a target through.

Safe to point at production: only GET, HEAD and OPTIONS reach the endpoint
(PUT only to a configured seeding URL), redirects are never followed, every
request has a timeout, bodies are read up to a cap (decompressed output
included, so a gzip bomb stays small), a hard request budget and a
requests-per-second window are enforced, 429/503 with Retry-After are waited
out a bounded number of times, and stored requests carry redacted headers and
URLs.

Credentials in URLs are sent the way curl sends them: user-info becomes Basic
``Authorization`` (``Proxy-Authorization`` for the proxy's) and is taken out
of the URL requested. A proxy is used only when one is configured
(``--proxy``): no proxy setting is read from the environment.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import http.client
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import certifi
import urllib3

from jobs_conformance import __version__
from jobs_conformance.errors import SuiteError, TargetUnreachable
from jobs_conformance.exchange import HttpRequest, HttpResponse
from jobs_conformance.redact import (
    Redactor,
    basic_credentials,
    userinfo,
    with_userinfo_credentials,
    without_userinfo,
)

if TYPE_CHECKING:
    from jobs_conformance.settings import Settings

__all__ = [
    "BudgetExhausted",
    "Cancelled",
    "Client",
    "ClientSettings",
    "TransportFailure",
    "encode_segment",
]

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~")
# An id of unreserved characters alone (a UUID, as most are) is its own segment.
_ALL_UNRESERVED = re.compile(f"[{re.escape(bytes(sorted(_UNRESERVED)).decode())}]*")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CHUNK = 64 * 1024
MAX_RETRY_AFTER_S = 30.0
MAX_CONSECUTIVE_FAILURES = 3
JITTER = 1.1
# Sent unless the configured headers name them: the suite identifies itself
# to the operators of the target, and takes gzip (the body cap applies to
# the decompressed bytes).
DEFAULT_HEADERS: Mapping[str, str] = {
    "User-Agent": f"jobs-conformance/{__version__}",
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
}


# Each byte as a path segment holds it: a table, not a test and a format a byte.
_SEGMENT_BYTES = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))


def encode_segment(value: str) -> str:
    """``value`` as one path segment: every byte but unreserved ones percent-encoded.

    "." is encoded too, so no client or proxy can treat ".." as a dot segment,
    and "/" so an id holding one stays one segment (RFC 3986 section 3.3).
    """
    if _ALL_UNRESERVED.fullmatch(value):
        return value
    return "".join([_SEGMENT_BYTES[b] for b in value.encode("utf-8")])


# How a body the peer cut off is said (HttpResponse.truncated), beside the size cap's.
PEER_CUT = "connection failed"


class BudgetExhausted(SuiteError):
    """The ``--max-requests`` budget is spent; what is unchecked stays not-checked."""


class Cancelled(SuiteError):
    """The client was told to send nothing more (:meth:`Client.cancel`): the message is why."""


class TransportFailure(Exception):
    """No HTTP response at all (timeout, refused, reset before a status line)."""

    def __init__(self, request: HttpRequest, reason: str) -> None:
        super().__init__(reason)
        self.request = request
        self.reason = reason


@dataclass(frozen=True)
class ClientSettings:
    """What the client needs from the resolved settings."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0
    max_requests: int | None = None
    rate_limit: float | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    verify: bool | str = True
    max_retries: int = 3
    pool_size: int = 4
    # The seeding URL as configured: its query and user-info go with every
    # URL built under it (see Client.send).
    seed_url: str | None = None
    proxy: str | None = None  # http://[user:password@]host:port
    client_cert: str | None = None  # PEM; holds the key too unless client_key is given
    client_key: str | None = None
    version_header: str | None = None  # a response header naming the target's version

    @classmethod
    def of(cls, settings: Settings, *, base_url: str, headers: Mapping[str, str]) -> ClientSettings:
        """The client's part of a run's ``settings``; ``base_url`` and ``headers`` as the run uses them
        (the embedded reference's own, say)."""
        return cls(
            base_url=base_url,
            headers=headers,
            timeout_s=settings.timeout,
            max_requests=settings.max_requests,
            rate_limit=settings.rate_limit,
            max_body_bytes=settings.max_body_bytes,
            verify=settings.verify,
            pool_size=settings.workers,
            seed_url=settings.seed_url,
            proxy=settings.proxy,
            client_cert=settings.client_cert,
            client_key=settings.client_key,
            version_header=settings.version_header,
        )


@dataclass
class TargetIdentity:
    """What was tested: the addresses connected to, the TLS leaf certificates' SHA-256, and the
    versions the target named (``--version-header``), with how many answers named each."""

    addresses: set[str] = field(default_factory=set)
    tls_sha256: set[str] = field(default_factory=set)
    versions: collections.Counter[str] = field(default_factory=collections.Counter)

    def merge(self, other: TargetIdentity) -> None:
        self.addresses |= other.addresses
        self.tls_sha256 |= other.tls_sha256
        self.versions.update(other.versions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "addresses": sorted(self.addresses),
            "tls_sha256": sorted(self.tls_sha256),
            "versions": dict(sorted(self.versions.items())),
        }


# What a response without the version header counts as.
NO_VERSION = "(none)"


class Client:
    """A keep-alive connection pool with the target's safety rules built in. Thread-safe.

    urllib3 directly, not requests on top of it: requests prepares each
    request through sessions, cookies, hooks and environment settings the
    suite never uses, and that cost about 0.25 ms a request, more than a
    whole exchange with the reference on loopback (benchmarks/run.py). No
    proxy, netrc or CA setting is taken from the environment: a conformance
    run goes where it is told, not through what the runner happens to have
    configured.
    """

    def __init__(self, settings: ClientSettings, redactor: Redactor | None = None) -> None:
        settings = replace(
            settings, headers=with_userinfo_credentials(settings.base_url, settings.headers)
        )
        self.settings = settings
        self.redactor = redactor or Redactor.for_settings(settings, settings.headers)
        base, self._base_query = _split_query(without_userinfo(settings.base_url))
        self.jobs_url = base.rstrip("/") + "/jobs/"
        self._seed = _split_query(settings.seed_url) if settings.seed_url else None
        pool_options: dict[str, Any] = {
            "num_pools": 4,
            "maxsize": settings.pool_size,
            "retries": False,
            "timeout": urllib3.Timeout(connect=settings.timeout_s, read=settings.timeout_s),
            **_tls_options(settings.verify),
        }
        if settings.client_cert:
            pool_options.update(cert_file=settings.client_cert, key_file=settings.client_key)
        self._proxy = without_userinfo(settings.proxy) if settings.proxy else None
        self._pool: urllib3.PoolManager
        self._origins: dict[str, tuple[str | None, str | None, int | None]] = {}
        if self._proxy and settings.proxy:
            proxy_credentials = userinfo(settings.proxy)
            proxy_headers = (
                {"Proxy-Authorization": basic_credentials(*proxy_credentials)}
                if proxy_credentials is not None
                else {}
            )
            self._pool = urllib3.ProxyManager(
                self._proxy, proxy_headers=proxy_headers, **pool_options
            )
        else:
            self._pool = urllib3.PoolManager(**pool_options)
        self._lock = threading.Lock()
        self._sent: collections.deque[float] = collections.deque()
        self.requests_sent = 0
        self._reached = False
        self._unreachable: TargetUnreachable | None = None
        self._consecutive_failures = 0
        self.identity = TargetIdentity()
        self._cancelled: str | None = None
        self._wake = threading.Event()  # set on cancel: ends a Retry-After wait at once

    def close(self) -> None:
        self._pool.clear()

    def cancel(self, why: str) -> None:
        """Send no request more, and wait out no Retry-After: every later request raises
        :class:`Cancelled` (``why``). For a command that learned the target cannot answer
        now: the requests other threads would send (credentials refused again and again,
        a service already overloaded) are not sent."""
        # Not under the lock, which a request waiting its turn under --rate-limit holds: the
        # first reason stands (two at once: either, both true).
        if self._cancelled is None:
            self._cancelled = why
        self._wake.set()

    def job_url(self, raw_id: str) -> str:
        query = f"?{self._base_query}" if self._base_query else ""
        return self.jobs_url + encode_segment(raw_id) + query

    def get_job(
        self, raw_id: str, *, headers: Mapping[str, str] | None = None
    ) -> tuple[HttpRequest, HttpResponse]:
        """GET the job at ``raw_id`` (encoded as one segment) with the configured or given headers."""
        return self.send("GET", self.job_url(raw_id), headers=headers)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        seeding: bool = False,
    ) -> tuple[HttpRequest, HttpResponse]:
        """Send one request, waiting out 429/503 Retry-After a bounded number of times.

        A URL's user-info is sent as its Basic ``Authorization``, in place of
        any other, and taken out of the URL; a URL built under the seeding
        URL (``{seed-url}/{id}``) gets the seeding URL's query.
        """
        if method not in _READ_METHODS and not seeding:
            raise SuiteError(f"refusing to send {method} to the target: the suite is read-only")
        chosen = dict(self.settings.headers if headers is None else headers)
        url = self._under_seed(url)
        # Without an "@" a URL has no user-info: not split to find none (each job's URL is a new
        # one, never in urlsplit's cache).
        credentials = userinfo(url) if "@" in url else None
        if credentials is not None:
            url = without_userinfo(url)
            chosen = {k: v for k, v in chosen.items() if k.lower() != "authorization"}
            chosen["Authorization"] = basic_credentials(*credentials)
        record = HttpRequest(method, self.redactor.text(url), self.redactor.headers(chosen))
        response = self._send_once(method, url, chosen, body, record)
        for _ in range(self.settings.max_retries):
            wait = _retry_after(response)
            if wait is None or self._spent():
                break  # no retry to wait for (none allowed, or none the budget still sends)
            self._wake.wait(wait)
            if self._cancelled is not None:
                break  # the answer stands: it said "later"
            response = self._send_once(method, url, chosen, body, record)
        return record, response

    def _spent(self) -> bool:
        limit = self.settings.max_requests
        return limit is not None and self.requests_sent >= limit

    def _under_seed(self, url: str) -> str:
        # The seeding code appends "/{id}" to the URL as configured; with a
        # query, the id must go in the path, before it.
        if self._seed is None or not self._seed[1]:
            return url
        assert self.settings.seed_url is not None
        prefix = self.settings.seed_url + "/"
        if not url.startswith(prefix):
            return url
        return f"{self._seed[0].rstrip('/')}/{url[len(prefix) :]}?{self._seed[1]}"

    def _reserve(self) -> None:
        with self._lock:
            if self._cancelled is not None:
                raise Cancelled(self._cancelled)
            limit = self.settings.max_requests
            if limit is not None and self.requests_sent >= limit:
                raise BudgetExhausted(f"the budget of {limit} requests is spent")
            rate = self.settings.rate_limit
            if rate:
                # A sliding window: at most floor(rate) sends per second, or
                # one per 1/rate seconds below 1/s. The window is stretched by
                # JITTER because the target counts arrivals, and network
                # jitter can move a send from one second into the next.
                limit = max(1, int(rate))
                window = max(1.0, 1.0 / rate) * JITTER
                while True:
                    now = time.monotonic()
                    while self._sent and now - self._sent[0] >= window:
                        self._sent.popleft()
                    if len(self._sent) < limit:
                        break
                    time.sleep(window - (now - self._sent[0]) + 0.001)
                    if self._cancelled is not None:  # cancelled while it waited its turn
                        raise Cancelled(self._cancelled)
                self._sent.append(time.monotonic())
            self.requests_sent += 1

    @property
    def failing(self) -> bool:
        """Whether the target stopped answering: unreachable, or failed requests in a row
        (every request now fails fast)."""
        return (
            self._unreachable is not None or self._consecutive_failures >= MAX_CONSECUTIVE_FAILURES
        )

    def _send_once(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        record: HttpRequest,
    ) -> HttpResponse:
        # Once the target proved unreachable, or stopped answering several
        # times in a row, fail fast: Hypothesis would otherwise retry (and
        # shrink) against it, one timeout at a time.
        if self._unreachable is not None:
            raise self._unreachable
        if self._consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
            raise TransportFailure(
                record, f"gave up after {MAX_CONSECUTIVE_FAILURES} failed requests in a row"
            )
        try:
            response = self._exchange(method, url, headers, body, record)
        except TargetUnreachable as exc:
            self._unreachable = exc
            raise
        except TransportFailure:
            self._consecutive_failures += 1
            raise
        self._consecutive_failures = 0
        return response

    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        record: HttpRequest,
    ) -> HttpResponse:
        self._reserve()
        started = time.monotonic()
        try:
            reply = self._request(method, url, headers, body)
        except urllib3.exceptions.SSLError as exc:
            reason = self._reason(exc)
            if not self.settings.client_cert and "verify failed" not in reason:
                # A server that requires a client certificate ends the
                # handshake without saying why (TLS 1.3: often a bare EOF).
                reason += " (if it requires a client certificate: --client-cert)"
            raise TargetUnreachable(f"TLS failed for {_origin(url)}: {reason}") from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise TransportFailure(
                record, f"no response within {self.settings.timeout_s:g} s"
            ) from exc
        except urllib3.exceptions.ProxyError as exc:
            # Nothing listening at the proxy, or it refused the tunnel.
            message = (
                f"cannot connect to {_origin(url)} through the proxy "
                f"{_origin(self._proxy or '')}: {self._reason(exc)}"
            )
            if not self._reached:
                raise TargetUnreachable(self.redactor.text(message)) from exc
            raise TransportFailure(record, self.redactor.text(message)) from exc
        except _CONNECTION_ERRORS as exc:
            if not self._reached:
                raise TargetUnreachable(
                    self.redactor.text(f"cannot connect to {_origin(url)}: {self._reason(exc)}")
                ) from exc
            raise TransportFailure(record, f"connection failed: {self._reason(exc)}") from exc
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            raise TransportFailure(record, self._reason(exc)) from exc
        if reply.status == 407 and self._proxy:
            # RFC 9110 section 15.5.8: the proxy's answer, not the target's.
            reply.close()
            raise TargetUnreachable(
                f"the proxy {_origin(self._proxy)} requires credentials (407): give them as "
                "http://USER:PASSWORD@host:port"
            )
        self._reached = True
        self._identify(reply)
        complete = False
        try:
            payload, truncated = self._read_body(reply, started)
            complete = truncated is None
        finally:
            if not complete:
                # The rest of the body is still on the wire: the connection
                # cannot carry another request.
                reply.close()
            reply.release_conn()
        return HttpResponse(
            reply.status,
            _response_headers(reply, self.redactor),
            payload,
            truncated,
            time.monotonic() - started,
        )

    def _identify(self, reply: urllib3.BaseHTTPResponse) -> None:
        """Note who answered: the peer's address, its TLS certificate, the version it names."""
        sock = getattr(getattr(reply, "connection", None), "sock", None)
        found: list[tuple[str, str]] = []
        with contextlib.suppress(OSError, AttributeError, ValueError):
            if sock is not None:
                found.append(("address", str(sock.getpeername()[0])))
                der = sock.getpeercert(binary_form=True) if hasattr(sock, "getpeercert") else None
                if der:
                    found.append(("tls", hashlib.sha256(der).hexdigest()))
        name = self.settings.version_header
        version = (reply.headers.get(name) or NO_VERSION) if name else None
        with self._lock:
            for kind, value in found:
                (self.identity.addresses if kind == "address" else self.identity.tls_sha256).add(
                    value
                )
            if version is not None:
                self.identity.versions[version] += 1

    def _request(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> urllib3.BaseHTTPResponse:
        given = {name.lower() for name in headers}
        outgoing = {
            **{k: v for k, v in DEFAULT_HEADERS.items() if k.lower() not in given},
            **headers,
        }

        def send() -> urllib3.BaseHTTPResponse:
            opener, target = self._route(url)
            return opener.urlopen(
                method,
                target,
                body=body,
                headers=outgoing,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=True,
            )

        try:
            return send()
        except urllib3.exceptions.ProtocolError as exc:
            # A kept-alive connection the server closed while it sat in the
            # pool dies before any response; a read method is sent once more
            # on a new connection (and counted against the budget), as
            # HTTP clients do (RFC 9110 section 9.2.2).
            if (
                method not in _READ_METHODS
                or not self._reached
                or not _dropped_before_response(exc)
            ):
                raise
            self._reserve()
            return send()

    def _route(self, url: str) -> tuple[urllib3.PoolManager | urllib3.HTTPConnectionPool, str]:
        """Who sends ``url``, and the request target it is given: the pool of its origin and
        its path and query, when urllib3 would send them as they are; else the pool manager,
        which parses ``url`` whole (a tenth of the client's instructions a request, with its
        character-by-character encoding of the path)."""
        normal = _NORMAL_URL.fullmatch(url) if self._proxy is None else None
        if normal is None or "/." in normal["target"]:  # a proxy, or a dot segment to resolve
            return self._pool, url
        origin = self._origins.get(normal["origin"])
        if origin is None:
            parts = urllib3.util.parse_url(normal["origin"])
            origin = self._origins[normal["origin"]] = (parts.scheme, parts.host, parts.port)
        scheme, host, port = origin
        return self._pool.connection_from_host(host, port=port, scheme=scheme), normal["target"]

    def _read_body(
        self, reply: urllib3.BaseHTTPResponse, started: float
    ) -> tuple[bytes, str | None]:
        cap = self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                if time.monotonic() - started > self.settings.timeout_s * 3:
                    # Named by the setting that limits it: a large job served slowly is
                    # read whole under a longer timeout.
                    waited = f"{self.settings.timeout_s * 3:g} s (3 x the timeout setting)"
                    return b"".join(chunks), f"body still arriving after {waited}"
                # read1 returns what has arrived (a drip-fed body cannot block
                # the wall-clock check above) and decompresses at most _CHUNK
                # bytes at a time (a gzip bomb never inflates in memory).
                chunk = reply.read1(_CHUNK, decode_content=True)
                if not chunk:
                    return b"".join(chunks), None
                size += len(chunk)
                if size > cap:
                    chunks.append(chunk[: cap - (size - len(chunk))])
                    return b"".join(chunks), (
                        f"body exceeds the {cap}-byte cap (the max-body-bytes setting)"
                    )
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            return b"".join(chunks), f"{PEER_CUT} after {size} bytes: {self._reason(exc)}"

    def _reason(self, exc: BaseException) -> str:
        # urllib3's messages may quote a URL, query and all.
        return self.redactor.text(_reason(exc))


def _split_query(url: str) -> tuple[str, str]:
    """``url`` without its query and fragment, and its query (a fragment is never sent)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="", fragment="")), parts.query


# A URL urllib3's parse_url leaves as it is (RFC 3986 characters only, percent-encodings in upper
# case, no user-info) but for dot segments, which Client._route looks for; "origin" ends where
# parse_url ends an authority.
_NORMAL_URL = re.compile(
    r"(?P<origin>https?://[^\\/?#@]*)"
    r"(?P<target>/(?:[\w.~!$&'()*+,;=:@/-]|%[0-9A-F]{2})*(?:\?(?:[\w.~!$&'()*+,;=:@/?-]|%[0-9A-F]{2})*)?)",
    re.ASCII,
)

# No connection, or the connection died before a status line arrived.
_CONNECTION_ERRORS = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.ProtocolError,
)


def _tls_options(verify: bool | str) -> dict[str, str]:
    if verify is False:
        # Warned once where --insecure was given, not once per request.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return {"cert_reqs": "CERT_NONE"}
    # --ca-bundle names a PEM file (settings check it); else certifi's bundle.
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where() if verify is True else verify}


def _response_headers(
    reply: urllib3.BaseHTTPResponse, redactor: Redactor
) -> tuple[tuple[str, str], ...]:
    # A field sent more than once reads as one, its values joined by ", "
    # (RFC 9110 section 5.3), as the oracle judges it.
    return tuple(
        (name, redactor.header(name, reply.headers[name])) for name in dict.fromkeys(reply.headers)
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it, outermost first."""
    current: BaseException | None = exc
    while current is not None:
        yield current
        current = current.__cause__ or current.__context__


def _dropped_before_response(exc: BaseException) -> bool:
    dropped = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)
    return any(isinstance(cause, dropped) for cause in _causes(exc))


def _retry_after(response: HttpResponse) -> float | None:
    if response.status not in (429, 503):
        return None
    value = response.header("Retry-After")
    if value is None:
        return None
    value = value.strip()
    # delay-seconds is ASCII DIGITs (RFC 9110 section 10.2.3); str.isdigit()
    # and float() would also take other scripts' digits.
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _origin(url: str) -> str:
    parts = urllib3.util.parse_url(url)
    return f"{parts.scheme}://{parts.netloc}"


def _reason(exc: BaseException) -> str:
    # The innermost cause reads best ("Connection refused", "timed out").
    *_, innermost = _causes(exc)
    text = str(innermost).strip() or type(innermost).__name__
    return text.split(": ", 1)[-1] if "object at 0x" in text else text
