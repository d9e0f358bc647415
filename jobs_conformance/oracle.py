"""The oracle: exchanges in, violations out.

Every requirement of the catalogue has exactly one check here, registered
under its id. A check is a pure function of an :class:`Exchange` and the
:class:`Contract` that yields :class:`Problem` records; it returns early when
it does not apply. :func:`judge` runs them all and turns problems into
:class:`Violation` records carrying the catalogue's severity. The same oracle
serves ``validate``, the contract tests and the fault self-test.
"""

from __future__ import annotations

import dataclasses
import functools
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jobs_conformance.contract import Contract, counts, load_contract
from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
from jobs_conformance.instants import days_in_month, instant_of, read_timestamp

__all__ = [
    "ALL_JOBS",
    "CHECKS",
    "CheckCrash",
    "Judgement",
    "Problem",
    "Violation",
    "check",
    "describe_datetime",
    "describe_uuid",
    "diagnose_datetime",
    "diagnose_uuid",
    "judge",
    "judge_body",
    "one_class_for_all_jobs",
    "root_causes",
]


@dataclass(frozen=True)
class Problem:
    """What a check found: a message, where in the body (JSON pointer), and its class.

    ``kind`` names the failing class without the values that vary between
    examples ("createdAt: offset", a near-miss form, a held job): examples
    of one class are one finding, and a report shows one example of each.
    """

    message: str
    pointer: str = ""
    value: Any = None
    kind: str = ""
    # Other members the problem is about (body.timeline: both timestamps).
    concerns: tuple[str, ...] = ()
    # The exchange that shows it, when not the one judged (a case variant
    # found where the declared id was not: the declared id's 404).
    evidence: Exchange | None = None


@dataclass(frozen=True)
class Violation:
    """A requirement the target broke, with its evidence.

    ``also_affects`` lists the requirements the same exchange broke because
    of this one (the catalogue's ``root_causes``): they are not failed again.
    ``severity`` is the finding's: its requirement's, or ``must`` when it
    also affects a must-level requirement.
    """

    requirement: str
    severity: str
    pointer: str
    message: str
    value: Any = None
    request: HttpRequest | None = None
    kind: str = ""
    also_affects: tuple[str, ...] = ()
    concerns: tuple[str, ...] = ()
    evidence: Exchange | None = None

    @property
    def members(self) -> tuple[str, ...]:
        """The JSON pointers this violation is about ("" for the whole answer)."""
        return (self.pointer, *self.concerns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "severity": self.severity,
            "pointer": self.pointer,
            "message": self.message,
            "class": self.kind,
            "also_affects": list(self.also_affects),
        }


@dataclass(frozen=True)
class CheckCrash:
    """A check raised: a bug in the suite, reported, never a verdict on the target."""

    requirement: str
    error: str


@dataclass(frozen=True)
class Judgement:
    """Everything the checks said of one exchange."""

    violations: tuple[Violation, ...]
    crashes: tuple[CheckCrash, ...] = ()
    skipped: bool = False
    # The requirements whose checks applied: what this exchange counts as "checked".
    applicable: frozenset[str] = frozenset()

    def failed(self, *, strict: bool = False) -> bool:
        return any(counts(v.severity, strict=strict) for v in self.violations)


CheckFunction = Callable[[Exchange, Contract], Iterator[Problem]]
Predicate = Callable[[Exchange, Contract], bool]


@dataclass(frozen=True)
class Check:
    """A registered check: the requirement it judges, when it can judge it, and the judging.

    ``applies`` is the one statement of which exchanges can confirm or
    refute the requirement: :func:`judge` runs the check only on those, and
    the same set is what reports count as "checked".
    """

    requirement: str
    applies: Predicate
    function: CheckFunction


CHECKS: dict[str, Check] = {}


def check(requirement_id: str, *, applies: Predicate) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check for a catalogue requirement; one check per requirement."""

    def register(function: CheckFunction) -> CheckFunction:
        if requirement_id in CHECKS:
            raise ValueError(f"a check for {requirement_id!r} is already registered")
        CHECKS[requirement_id] = Check(requirement_id, applies, function)
        return function

    return register


def judge(exchange: Exchange, contract: Contract | None = None) -> Judgement:
    """Run every check that applies to ``exchange``."""
    contract = contract or load_contract()
    if _throttled(exchange.response):
        return Judgement((), skipped=True)
    found: list[tuple[str, Problem]] = []
    crashes: list[CheckCrash] = []
    applied: list[str] = []
    # Most checks share a predicate (a served job): ask each one once.
    answers: dict[Predicate, bool] = {}
    for requirement_id, registered in CHECKS.items():
        try:
            applies = answers.get(registered.applies)
            if applies is None:
                applies = answers[registered.applies] = registered.applies(exchange, contract)
            if not applies:
                continue
            applied.append(requirement_id)
            # A loop, not list(): half the cost of a check that finds nothing.
            for problem in registered.function(exchange, contract):
                found.append((requirement_id, problem))
        except Exception:
            # A bug in a check must not decide or end the run, and what it
            # found before it raised is no verdict either.
            found = [f for f in found if f[0] != requirement_id]
            crashes.append(CheckCrash(requirement_id, traceback.format_exc(limit=3)))
    if not found:  # most answers: nothing to fold or sort
        return (
            Judgement((), tuple(crashes), applicable=frozenset(applied))
            if crashes
            else _clean(tuple(applied))
        )
    violations = [
        Violation(
            requirement_id,
            contract.requirement(requirement_id).severity,
            p.pointer,
            p.message,
            p.value,
            exchange.request,
            p.kind or p.message,
            concerns=p.concerns,
            evidence=p.evidence,
        )
        for requirement_id, p in found
    ]
    return Judgement(
        tuple(sorted(root_causes(violations, contract), key=_sort_key)),
        tuple(crashes),
        applicable=frozenset(applied),
    )


# Most answers are clean, and a clean judgement is fixed by the checks that
# applied, of which there are few combinations: one (immutable) record each.
@functools.lru_cache(maxsize=256)
def _clean(applied: tuple[str, ...]) -> Judgement:
    return Judgement((), applicable=frozenset(applied))


def root_causes(violations: list[Violation], contract: Contract) -> list[Violation]:
    """One exchange's violations, each owned one folded into its owners' ``also_affects``.

    A violation that another one owns (the catalogue's ``root_causes``, or
    ``root_causes_per_field`` in the same member) is a consequence, not a
    finding. Owners list what they reach through violations only: an id
    echo owns an unknown id's 200, and through it that answer's body, but
    not the body of a held job it also served.
    """

    def owns(owner: Violation, other: Violation) -> bool:
        if owner is other or owner.requirement == other.requirement:
            return False
        if other.requirement in contract.root_causes.get(owner.requirement, ()):
            return True
        return other.requirement in contract.root_causes_per_field.get(
            owner.requirement, ()
        ) and any(_same_member(a, b) for a in owner.members for b in other.members)

    if len(violations) == 1 and not violations[0].also_affects:
        return list(violations)  # alone, it owns nothing and nothing owns it
    owned = {id(v): [o for o in violations if owns(v, o)] for v in violations}
    folded = {id(o) for consequences in owned.values() for o in consequences}
    kept = []
    for violation in violations:
        if id(violation) in folded:
            continue
        reached: dict[int, Violation] = {}
        frontier = list(owned[id(violation)])
        while frontier:
            current = frontier.pop()
            if id(current) not in reached:
                reached[id(current)] = current
                frontier += owned[id(current)]
        if not reached and not violation.also_affects:
            kept.append(violation)  # what replace() below would rebuild, at a tenth of the cost
            continue
        # A finding weighs what it breaks: a should-level cause of a
        # must-level consequence (seconds dropped, so a seeded job reads back
        # another instant) fails the run as the consequence would have.
        weighs = {violation.severity, *(r.severity for r in reached.values())}
        kept.append(
            dataclasses.replace(
                violation,
                severity="must" if "must" in weighs else violation.severity,
                also_affects=tuple(sorted({r.requirement for r in reached.values()})),
            )
        )
    return kept


def _same_member(first: str, second: str) -> bool:
    """Whether two JSON pointers are one member or one inside the other ("" is the whole body)."""
    shorter, longer = sorted((first, second), key=len)
    return longer == shorter or longer.startswith(shorter + "/") or not shorter


def _throttled(response: HttpResponse) -> bool:
    # 429 and 503 with Retry-After ask the client to come back later: the
    # client waited a bounded number of times, and an answer that still says
    # "later" is no verdict on the contract.
    return response.status in (429, 503) and response.header("Retry-After") is not None


# --- When a check applies. Each predicate is named for the exchanges it admits.

# The intents they test, read once: before Python 3.12, a member read through
# its class goes through EnumType.__getattr__ each time (python/cpython#93910),
# and every predicate runs for every exchange.
_CAPTURED, _KNOWN, _SEEDED = Intent.CAPTURED, Intent.KNOWN, Intent.SEEDED
_CASE_VARIANT, _MAYBE_HELD = Intent.CASE_VARIANT, Intent.MAYBE_HELD
_READ_AGAIN = (Intent.REPEAT, Intent.CASE_VARIANT)  # answers compared with an earlier read
_SECOND_READ = (Intent.REPEAT, Intent.SEEDED)
_WELL_FORMED = (Intent.UNKNOWN, Intent.MAYBE_HELD)
_HELD = (Intent.KNOWN, Intent.REPEAT, Intent.CASE_VARIANT, Intent.SEEDED)


def _intent(intent: Intent) -> Predicate:
    def admits(exchange: Exchange, contract: Contract) -> bool:
        return exchange.intent is intent

    admits.__name__ = f"intent_is_{intent.name.lower()}"
    return admits


def _served_body(exchange: Exchange, contract: Contract) -> bool:
    return exchange.is_success_body and _judged_first_here(exchange)


def _judged_first_here(exchange: Exchange) -> bool:
    # A refused seeding PUT is evidence for seed.round-trip only. A repeat or
    # another case that served what the canonical answer did is the same
    # answer, already judged: counting it again would inflate "checked".
    request = exchange.request
    if request is not None and request.method == "PUT":
        return False
    baseline = exchange.baseline
    return not (
        baseline is not None
        and exchange.intent in _READ_AGAIN
        and baseline.response.body == exchange.response.body
        and baseline.response.header("Content-Type") == exchange.response.header("Content-Type")
    )


def _served_job(exchange: Exchange, contract: Contract) -> bool:
    return _served_body(exchange, contract) and exchange.job is not None


def _content_type_known(exchange: Exchange, contract: Contract) -> bool:
    # A header requirement: judged wherever the headers of a 200 were recorded, its body
    # recorded or not (an access log with its response headers). A captured body without
    # a Content-Type says nothing about the header.
    if not exchange.headers_recorded:
        return False
    response = exchange.response
    if exchange.intent is _CAPTURED:
        shows = response.header("Content-Type") is not None
    else:
        shows = response.status == 200
    return shows and _judged_first_here(exchange)


def _has_job_config(exchange: Exchange, contract: Contract) -> bool:
    return _served_job(exchange, contract) and "jobConfigJson" in (exchange.job or {})


def _has_workflow_order(exchange: Exchange, contract: Contract) -> bool:
    config = (exchange.job or {}).get("jobConfigJson") if _served_job(exchange, contract) else None
    return isinstance(config, dict) and "workflowExecutionOrder" in config


def _has_valid_timeline(exchange: Exchange, contract: Contract) -> bool:
    # Order is judged between two valid timestamps; an invalid one is body.datetime's.
    if not _served_job(exchange, contract):
        return False
    job = exchange.job or {}
    created, updated = job.get("createdAt"), job.get("updatedAt")
    matches = contract.datetime_pattern.find
    return bool(
        isinstance(created, str)
        and matches(created)
        and isinstance(updated, str)
        and matches(updated)
    )


def _echoes_requested_id(exchange: Exchange, contract: Contract) -> bool:
    return (
        _served_job(exchange, contract)
        and exchange.job_id is not None
        and exchange.intent is not _CAPTURED
        and isinstance((exchange.job or {}).get("id"), str)
    )


def _asks_for_a_held_job(exchange: Exchange, contract: Contract) -> bool:
    # A seeded job read back is a held job too.
    request = exchange.request
    return exchange.intent is _KNOWN or (
        exchange.intent is _SEEDED and (request is None or request.method == "GET")
    )


def _compares_cases(exchange: Exchange, contract: Contract) -> bool:
    # A job refused in every case is no evidence about case.
    baseline = exchange.baseline
    return (
        exchange.intent is _CASE_VARIANT
        and baseline is not None
        and 200 in (exchange.response.status, baseline.response.status)
    )


def _repeats_a_request(exchange: Exchange, contract: Contract) -> bool:
    # A repeat, or the second read of a seeded job.
    return exchange.intent in _SECOND_READ and exchange.baseline is not None


def _asks_a_well_formed_id(exchange: Exchange, contract: Contract) -> bool:
    # A 200 for an id that may be held (the doc's example; any id of recorded
    # traffic) may be that job: no evidence about unheld ids.
    if exchange.intent is _MAYBE_HELD:
        return exchange.response.status != 200
    return exchange.intent in _WELL_FORMED


def _seeded_with_expectation(exchange: Exchange, contract: Contract) -> bool:
    # The PUT's answer, or a read that served the job: a seeded job not
    # found is http.status-known's finding, there are no values to compare.
    if exchange.intent is not _SEEDED or exchange.expected is None:
        return False
    request = exchange.request
    return (request is not None and request.method == "PUT") or exchange.response.status == 200


def judge_body(
    body: bytes, content_type: str | None = None, contract: Contract | None = None
) -> Judgement:
    """Judge a captured 200 body (for ``validate``)."""
    headers = (("Content-Type", content_type),) if content_type is not None else ()
    exchange = Exchange(HttpResponse(200, headers, body), Intent.CAPTURED)
    return judge(exchange, contract)


def _sort_key(violation: Violation) -> tuple[str, str, str]:
    return (violation.requirement, violation.pointer, violation.message)


def _pointer(*parts: str | int) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# The classes json.loads builds, looked up before the isinstance chain below
# (which also names their subclasses): body.types asks it of every member.
_JSON_TYPES: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _json_type(value: Any) -> str:
    exact = _JSON_TYPES.get(type(value))
    if exact is not None:
        return exact
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# --- Diagnoses: why a value fails a pattern. The verdict is always the
# pattern's; these only make the message say what a reader needs to fix.

_HEX = frozenset("0123456789abcdefABCDEF")


def describe_uuid(value: str) -> str:
    """A short reason why ``value`` is not a UUID the doc's pattern allows."""
    return diagnose_uuid(value)[1]


def diagnose_uuid(value: str) -> tuple[str, str]:
    """``(class, reason)``: why ``value`` is not a UUID the doc's pattern allows; the class holds no value."""
    odd = None if value.isascii() else next(c for c in value if not c.isascii())
    if odd is not None:
        return "non-ASCII", f"contains the non-ASCII character U+{ord(odd):04X}"
    if value.endswith("\n"):
        return "trailing newline", "ends with a newline (ECMA-262 '$' does not match before one)"
    if value != value.strip():
        return "whitespace", "has surrounding whitespace"
    if value.lower().startswith("urn:uuid:"):
        return "urn prefix", "has a 'urn:uuid:' prefix"
    if value.startswith("{") or value.endswith("}"):
        return "braces", "is wrapped in braces"
    if len(value) != 36:
        return "length", f"is {len(value)} characters long; a UUID is 36"
    if [i for i, c in enumerate(value) if c == "-"] != [8, 13, 18, 23]:
        return "hyphens", "has hyphens out of the 8-4-4-4-12 places"
    bad = next((c for c in value.replace("-", "") if c not in _HEX), None)
    if bad is not None:
        return "not hex", f"contains {bad!r}, which is not a hexadecimal digit"
    if value.lower() == "ffffffff-ffff-ffff-ffff-ffffffffffff":
        return "max UUID", "is the max UUID, which the documented pattern does not allow"
    if value[14] not in "12345678":
        return "version", f"has version nibble {value[14]!r}; the pattern allows 1-8"
    if value[19] not in "89abAB":
        return "variant", f"has variant nibble {value[19]!r}; the pattern allows 8, 9, a, b"
    return "pattern", "does not match the documented UUID pattern"


def describe_datetime(value: str) -> str:
    """A short reason why ``value`` is not a timestamp the doc's pattern allows."""
    return diagnose_datetime(value)[1]


def diagnose_datetime(value: str) -> tuple[str, str]:
    """``(class, reason)``: why ``value`` is not a timestamp the doc's pattern allows."""
    odd = None if value.isascii() else next(c for c in value if not c.isascii())
    if odd is not None:
        return "non-ASCII", f"contains the non-ASCII character U+{ord(odd):04X}"
    if value.endswith("\n"):
        return "trailing newline", "ends with a newline (ECMA-262 '$' does not match before one)"
    if len(value) > 10 and value[10] == " ":
        return "space separator", "uses a space between date and time; the pattern requires 'T'"
    if "t" in value[10:11] or value.endswith("z"):
        return "lower-case t or z", "uses a lower-case 't' or 'z'; the pattern requires 'T' and 'Z'"
    if not value.endswith("Z") and len(value) > 6 and value[-6] in "+-":
        return "offset", f"has the offset {value[-6:]!r}; the pattern allows only 'Z'"
    if len(value) < 5 or value[4] != "-" or not value[:4].isdigit():
        return "year", "does not start with a four-digit year"
    try:
        year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    except ValueError:
        return "pattern", "does not match the documented date-time pattern"
    if not 1 <= month <= 12:
        return "month", f"has month {month:02d}"
    if day < 1 or day > days_in_month(year, month):
        if month == 2 and day == 29:
            return "Feb 29", f"is February 29 of {year:04d}, which is not a leap year"
        return (
            "day",
            f"has day {day:02d}; month {month:02d} of {year:04d} has {days_in_month(year, month)} days",
        )
    time = value[11:]
    if time[:2].isdigit() and int(time[:2]) > 23:
        return "hour", f"has hour {time[:2]}"
    if time[3:5].isdigit() and int(time[3:5]) > 59:
        return "minute", f"has minute {time[3:5]}"
    if time[6:8].isdigit() and int(time[6:8]) > 59:
        return "second", f"has second {time[6:8]} (leap seconds are outside the pattern)"
    if time[5:6] == "." or "," in time:
        return "fraction", "has a fraction without seconds or a comma decimal"
    return "pattern", "does not match the documented date-time pattern"


# --- The checks, one per requirement, in catalogue order.


@check("body.json", applies=_served_body)
def body_is_one_json_object(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    response = exchange.response
    if response.truncated:
        yield Problem(f"body is incomplete: {response.truncated}", kind="incomplete")
        return
    parsed = response.parsed
    if parsed.error is not None:
        yield Problem(parsed.error, kind=parsed.kind)
    elif not isinstance(parsed.value, dict):
        kind = _json_type(parsed.value)
        yield Problem(f"top-level value is a JSON {kind}, not an object", kind=f"top-level {kind}")


@check("body.required", applies=_served_job)
def required_fields_present(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    job = exchange.job or {}
    for name in contract.required:
        if name not in job:
            nullable = contract.fields[name].nullable
            hint = " (a nullable field is sent as null, not omitted)" if nullable else ""
            yield Problem(f"{name} is missing{hint}", _pointer(name), kind=f"{name} missing")


@check("body.types", applies=_served_job)
def fields_have_documented_types(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    job = exchange.job or {}
    for name, spec in contract.fields.items():
        if name not in job or "object" in spec.types:
            continue
        value = job[name]
        # The table first, inline: this runs for every member of every body.
        actual = _JSON_TYPES.get(type(value)) or _json_type(value)
        if actual not in spec.types:
            allowed = " or ".join(sorted(spec.types))
            yield Problem(
                f"{name} is a JSON {actual}; the doc allows {allowed}",
                _pointer(name),
                job[name],
                f"{name} is a {actual}",
            )


@check("body.uuid", applies=_served_job)
def uuid_fields_match_pattern(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    job = exchange.job or {}
    matches = contract.uuid_pattern.find
    for name in contract.fields_with_format("uuid"):
        value = job.get(name)
        if isinstance(value, str) and not matches(value):
            kind, reason = diagnose_uuid(value)
            yield Problem(
                f"{name} = {_shown(value)}: {reason}", _pointer(name), value, f"{name}: {kind}"
            )


@check("body.datetime", applies=_served_job)
def timestamps_match_pattern(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    job = exchange.job or {}
    matches = contract.datetime_pattern.find
    for name in contract.fields_with_format("date-time"):
        value = job.get(name)
        if isinstance(value, str) and not matches(value):
            kind, reason = diagnose_datetime(value)
            yield Problem(
                f"{name} = {_shown(value)}: {reason}", _pointer(name), value, f"{name}: {kind}"
            )


@check("body.datetime-rfc3339", applies=_served_job)
def timestamps_are_rfc3339(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    job = exchange.job or {}
    for name in contract.fields_with_format("date-time"):
        value = job.get(name)
        if not isinstance(value, str):
            continue
        instant, rfc3339 = read_timestamp(value)
        if not rfc3339:
            kind, reason = (
                (
                    "seconds missing",
                    "seconds are missing (RFC 3339 section 5.6 requires time-second)",
                )
                if instant is not None
                else ("not RFC 3339", "it is not an RFC 3339 date-time (section 5.6)")
            )
            yield Problem(
                f"{name} = {_shown(value)}: {reason}", _pointer(name), value, f"{name}: {kind}"
            )


@check("body.job-config", applies=_has_job_config)
def job_config_is_object(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    value = (exchange.job or {})["jobConfigJson"]
    if not isinstance(value, dict):
        hint = " holding JSON text" if isinstance(value, str) else ""
        kind = _json_type(value)
        yield Problem(
            f"jobConfigJson is a JSON {kind}{hint}; the doc requires an object",
            _pointer("jobConfigJson"),
            value,
            f"a {kind}{hint}",
        )


@check("body.workflow-order", applies=_has_workflow_order)
def workflow_order_is_uuid_array(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    order = (exchange.job or {})["jobConfigJson"]["workflowExecutionOrder"]
    where = ("jobConfigJson", "workflowExecutionOrder")
    if not isinstance(order, list):
        kind = _json_type(order)
        yield Problem(
            f"workflowExecutionOrder is a JSON {kind}, not an array",
            _pointer(*where),
            order,
            f"a {kind}",
        )
        return
    matches = contract.uuid_pattern.find
    for index, item in enumerate(order):
        if not isinstance(item, str):
            kind = _json_type(item)
            yield Problem(
                f"item {index} is a JSON {kind}, not a UUID string",
                _pointer(*where, index),
                item,
                f"an item is a {kind}",
            )
        elif not matches(item):
            kind, reason = diagnose_uuid(item)
            yield Problem(
                f"item {index} = {_shown(item)}: {reason}",
                _pointer(*where, index),
                item,
                f"an item: {kind}",
            )


@check("body.timeline", applies=_has_valid_timeline)
def updated_not_before_created(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    job = exchange.job or {}
    created, updated = job["createdAt"], job["updatedAt"]
    start, end = instant_of(created), instant_of(updated)
    if start is not None and end is not None and end < start:
        yield Problem(
            f"updatedAt {updated!r} is before createdAt {created!r}",
            _pointer("updatedAt"),
            updated,
            "updatedAt before createdAt",
            concerns=(_pointer("createdAt"),),
        )


@check("http.content-type", applies=_content_type_known)
def success_is_json(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    header = exchange.response.header("Content-Type")
    if header is None:
        yield Problem("the 200 response has no Content-Type", kind="no Content-Type")
        return
    media_type = header.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        yield Problem(
            f"Content-Type is {_shown(header)}; the doc requires application/json",
            value=header,
            kind=media_type,
        )


def _held_job(exchange: Exchange) -> str:
    """The held job an exchange is about, in lower case: a class of its own. Seeded jobs are
    drawn at random, so they are one class: a finding's id must not depend on a draw."""
    if exchange.intent is Intent.SEEDED:
        return "a seeded job"
    return str(exchange.about or exchange.job_id or "").lower()


# The class of a behaviour shown by many jobs, in place of each job's own.
ALL_JOBS = "held jobs"
# The requirement whose findings over many jobs are one a status, not one: a job not found
# (404, deleted since it was listed) is not a job the service fails on (500).
_CLASSED_BY_STATUS = "http.status-known"


def one_class_for_all_jobs(judgement: Judgement, exchange: Exchange) -> Judgement:
    """``judgement`` of ``exchange`` with the classes named after its job (a run declares a
    few held jobs, each a class of its own) named :data:`ALL_JOBS` instead: what judges
    thousands of jobs (an audit's list, recorded traffic) makes one finding of one
    behaviour, with a count, not one a job. A held job not found is one behaviour a status:
    a job deleted since the list was made (404) is not a service that fails on it (500),
    and a waiver of the one must not cover the other."""
    own = _held_job(exchange)
    if not any(v.kind == own for v in judgement.violations):
        return judgement

    def general(violation: Violation) -> Violation:
        if violation.kind != own:
            return violation
        if violation.requirement == _CLASSED_BY_STATUS:
            return dataclasses.replace(
                violation, kind=f"{ALL_JOBS} answered {exchange.response.status}"
            )
        return dataclasses.replace(violation, kind=ALL_JOBS)

    return dataclasses.replace(
        judgement, violations=tuple(general(v) for v in judgement.violations)
    )


def _tried(exchanges: Iterable[Exchange]) -> str:
    return ", ".join(f"{e.job_id!r} {e.response.status}" for e in exchanges)


@check("http.status-known", applies=_asks_for_a_held_job)
def known_job_is_found(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    status = exchange.response.status
    # Found in another case (``alternates``): the job is served, and the
    # case is http.case-insensitive's finding.
    if status != 200 and all(other.response.status != 200 for other in exchange.alternates):
        also = f"; other forms tried: {_tried(exchange.alternates)}" if exchange.alternates else ""
        what = "the seeded job" if exchange.intent is Intent.SEEDED else "the held job"
        yield Problem(
            f"{what} {exchange.job_id!r} was answered {status}, not 200{also}",
            value=exchange.job_id,
            kind=_held_job(exchange),
        )


def _uuid_value(text: str) -> str:
    return text.lower()


@check("http.id-echo", applies=_echoes_requested_id)
def body_id_is_requested_id(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    got = (exchange.job or {})["id"]
    # As a value: a near miss of a held id asks for that id (accepting the
    # form at all is http.malformed-4xx's finding).
    wanted = exchange.about or str(exchange.job_id)
    if _uuid_value(got) != _uuid_value(wanted):
        # Per held job; any unheld id answered with another job is one class.
        held = exchange.intent in _HELD
        yield Problem(
            f"requested {exchange.job_id!r} but the body's id is {_shown(got)}",
            "/id",
            got,
            _held_job(exchange) if held else f"another job for a {exchange.intent.value} id",
        )


@check("http.case-insensitive", applies=_compares_cases)
def case_variant_finds_same_job(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    baseline = exchange.baseline
    assert baseline is not None  # the predicate admits only variants with a baseline
    ours, theirs = exchange.response.status, baseline.response.status
    if ours != theirs:
        # The evidence is the request that was not found.
        missed, found = (exchange, baseline) if ours != 200 else (baseline, exchange)
        yield Problem(
            f"{missed.job_id!r} was answered {missed.response.status}, while the same job as "
            f"{found.job_id!r} was answered {found.response.status} (UUIDs compare "
            "case-insensitively, RFC 9562 section 4)",
            value=missed.job_id,
            kind=_held_job(exchange),
            evidence=None if missed is exchange else missed,
        )
        return
    if exchange.job is None or baseline.job is None:
        return
    # Members that also changed between repeats of the declared id
    # (``alternates``) are http.idempotent's finding, not a matter of case.
    unstable = {
        name
        for repeat in exchange.alternates
        for name in _changed_members(baseline.job, repeat.job or {})
    }
    changed = [m for m in _changed_members(baseline.job, exchange.job) if m not in unstable]
    got, want = exchange.job.get("id"), baseline.job.get("id")
    same_id = (
        isinstance(got, str) and isinstance(want, str) and _uuid_value(got) == _uuid_value(want)
    )
    if same_id:  # the same UUID, perhaps written in another case
        changed = [m for m in changed if m != "id"]
    if changed:
        yield Problem(
            f"{exchange.job_id!r} returned another body than {baseline.job_id!r} "
            f"(changed: {', '.join(changed)})",
            value=exchange.job_id,
            kind=_held_job(exchange),
        )


@check("http.idempotent", applies=_repeats_a_request)
def repeated_get_is_same(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    baseline = exchange.baseline
    if baseline is None:  # the predicate admits only repeats with a baseline
        return
    if exchange.response.status != baseline.response.status:
        yield Problem(
            f"GET {exchange.job_id!r} was answered {baseline.response.status}, "
            f"then {exchange.response.status}",
            kind="status changed",
        )
    elif exchange.job != baseline.job:
        changed = ", ".join(_changed_members(baseline.job or {}, exchange.job or {})) or "body"
        yield Problem(
            f"GET {exchange.job_id!r} returned a different body the second time (changed: {changed})",
            kind=f"changed: {changed}",
        )


def _changed_members(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in set(first) | set(second) if first.get(k) != second.get(k))


@check("http.unknown-404", applies=_asks_a_well_formed_id)
def unknown_id_is_404(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    status = exchange.response.status
    if exchange.intent is _MAYBE_HELD:
        # A fixed id a target may hold: found or not, never refused as malformed.
        if status not in (200, 404, 410):
            yield Problem(
                f"the well-formed id {exchange.job_id!r} was answered {status}; expected 200 "
                "(held) or 404",
                value=exchange.job_id,
                kind=exchange.label or str(status),
            )
    elif status not in (404, 410):
        yield Problem(
            f"the well-formed, unheld id {exchange.job_id!r} was answered {status}; expected 404",
            value=exchange.job_id,
            kind=exchange.label or str(status),
        )


@check("http.malformed-4xx", applies=_intent(Intent.MALFORMED))
def malformed_id_is_4xx(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    status = exchange.response.status
    if not 400 <= status < 500:
        # What matters first (the answer), then what the form is: the parser
        # list can be long, and a terminal line is clipped at its end.
        form = [exchange.label] if exchange.label else []
        if form and exchange.about:
            form[0] += f" of the held id {exchange.about}"
        if exchange.detail:
            form.append(exchange.detail)
        what = f" ({'; '.join(form)})" if form else ""
        yield Problem(
            f"the malformed id {_shown(exchange.job_id)} was answered {status}; expected 4xx{what}",
            value=exchange.job_id,
            kind=exchange.label or (diagnose_uuid(str(exchange.job_id))[0]),
        )


@check("auth.required", applies=_intent(Intent.UNAUTHENTICATED))
def credentials_are_required(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    status = exchange.response.status
    if status not in (401, 403):
        what = exchange.label or "a request without valid credentials"
        yield Problem(
            f"{what} (GET {exchange.job_id!r}) was answered {status}; expected 401 or 403",
            kind=exchange.label,
        )


@check("seed.round-trip", applies=_seeded_with_expectation)
def seeded_job_round_trips(exchange: Exchange, contract: Contract) -> Iterator[Problem]:
    expected = exchange.expected or {}
    if exchange.request is not None and exchange.request.method == "PUT":
        if not 200 <= exchange.response.status < 300:
            yield Problem(
                f"the seeding URL answered {exchange.response.status} to the conforming job "
                f"{exchange.job_id!r}",
                value=exchange.job_id,
                kind="refused",
            )
        return
    job = exchange.job
    if job is None:
        return
    # What changed between the two reads is http.idempotent's.
    unstable = set(_changed_members(exchange.baseline.job or {}, job) if exchange.baseline else [])
    for name, want in expected.items():
        got = job.get(name)
        if name not in unstable and not _same_value(contract, name, want, got):
            yield Problem(
                f"{name} of {exchange.job_id!r} was stored as {_shown(want)} but read back as "
                f"{_shown(got)}",
                _pointer(name),
                got,
                name,
            )


def _same_value(contract: Contract, name: str, want: Any, got: Any) -> bool:
    spec = contract.fields.get(name)
    if isinstance(want, str) and isinstance(got, str) and spec is not None:
        if spec.format == "uuid":
            return want.lower() == got.lower()
        if spec.format == "date-time":
            return instant_of(want) is not None and instant_of(want) == instant_of(got)
    if name == "jobConfigJson" and isinstance(want, dict) and isinstance(got, dict):
        return _same_config(want, got)
    return want == got


def _same_config(want: Mapping[str, Any], got: Mapping[str, Any]) -> bool:
    order_w, order_g = want.get("workflowExecutionOrder"), got.get("workflowExecutionOrder")
    if isinstance(order_w, list) and isinstance(order_g, list):
        if [str(u).lower() for u in order_w] != [str(u).lower() for u in order_g]:
            return False
        want = {k: v for k, v in want.items() if k != "workflowExecutionOrder"}
        got = {k: v for k, v in got.items() if k != "workflowExecutionOrder"}
    return want == got
