"""Waivers: findings a team has accepted for a while, read from a committed TOML file.

A waiver names one finding and says why it is accepted, until when and,
optionally, who owns it and on which targets it holds. A waived finding
still appears in every report, marked ``waived``; once its date has passed
it is marked ``expired`` and counts again. The file (``conformance-waivers.toml``
by default) looks like this::

    # conformance-waivers.toml
    [[waiver]]
    finding = "http.malformed-4xx#1a2b3c4d"     # a finding id, or instead: requirement = "..." and class = "..."
    reason = "braces accepted by the Go parser; fix planned"   # required, non-empty
    expires = 2027-01-31                          # required, a TOML date (not a datetime)
    owner = "team-jobs"                           # optional
    ticket = "JOBS-123"                           # optional
    target = "https://staging.example.com/*"      # optional: an fnmatch pattern on the run's target URL

- ``finding`` is a finding's stable id (``<requirement>#<8 hex>``, see
  :func:`jobs_conformance.results.finding_id`); ``requirement`` with
  ``class`` names the same finding in words. Exactly one form per waiver.
- ``expires`` is the last day the waiver holds (``waived`` through that
  day, ``expired`` from the next). A date in the past is not an error when
  the file is read: the waiver is expired, which is what the report shows.
- ``target`` is matched case-sensitively (:func:`fnmatch.fnmatchcase`), the
  same on every platform; without it the waiver holds on every target.
- Each waiver is its own ``[[waiver]]`` table, never an inline array:
  errors name the line of its header, and :func:`prune` removes it by that
  line, with the ``#`` comment lines directly above it.

Every mistake in the file is a :class:`~jobs_conformance.errors.UsageError`
naming ``path:line``: a waiver file that does not say what its author meant
must stop the run, not silently waive nothing (or everything).
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import re
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs_conformance.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomllib is tomli, added to the standard library in 3.11
    import tomli as tomllib

__all__ = [
    "DEFAULT_PATH",
    "Waiver",
    "WaiverOutcome",
    "append_waiver",
    "apply_waivers",
    "load_waivers",
    "prune",
    "waiver_entry",
]

DEFAULT_PATH = Path("conformance-waivers.toml")

_KEYS = ("finding", "requirement", "class", "reason", "expires", "owner", "ticket", "target")
_OPTIONAL_TEXT = ("finding", "requirement", "class", "owner", "ticket", "target")
# results.finding_id: the requirement, '#', the first 8 lowercase hex digits of a SHA-256.
_FINDING_ID = re.compile(r"(?P<requirement>[^#\s]+)#[0-9a-f]{8}")
# A header as TOML allows it to be spelt: spaces inside the brackets, a quoted key, a comment.
_HEADER = re.compile(r"""[ \t]*\[\[[ \t]*(?:waiver|"waiver"|'waiver')[ \t]*\]\][ \t]*(?:#.*)?\r?""")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)")
# Shown escaped in what the suite writes: control characters are not allowed
# raw in TOML strings or comments (TOML 1.0, "Comment" and "String"), and
# format characters (bidirectional overrides) would let a target's message
# make a committed file read differently from what it says. An unpaired
# surrogate (Cs) cannot be written as UTF-8 at all.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_TOML_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_NEW_FILE_HEADER = (
    "# Findings of jobs-conformance accepted until a date: one [[waiver]] table each.\n"
    "# The format is described in jobs_conformance/waivers.py.\n"
)


@dataclass(frozen=True)
class Waiver:
    """One ``[[waiver]]`` entry of the file; ``line`` is its header's, 1-based."""

    finding: str | None
    requirement: str | None
    cls: str | None
    reason: str
    expires: datetime.date
    owner: str | None
    ticket: str | None
    target: str | None
    line: int

    @property
    def key(self) -> str:
        """What the waiver names: the finding id, or ``"requirement class"``."""
        return self.finding if self.finding is not None else f"{self.requirement} {self.cls}"

    def matches(self, finding: Mapping[str, Any], target: str) -> bool:
        """Whether this waiver covers ``finding`` in a run against ``target``."""
        if not self.applies_to(target):
            return False
        if self.finding is not None:
            return finding.get("id") == self.finding
        return finding.get("requirement") == self.requirement and finding.get("class") == self.cls

    def applies_to(self, target: str) -> bool:
        """Whether the run's target is in this waiver's scope."""
        return self.target is None or fnmatch.fnmatchcase(target, self.target)


@dataclass(frozen=True)
class WaiverOutcome:
    """The findings with their waivers applied, and the waivers that matched nothing.

    ``stale`` waivers name a requirement the run checked fully and found no
    such finding: it is gone, and the waiver should be pruned. ``unverified``
    waivers name a requirement the run did not check fully, so nobody knows
    whether the debt is still there; the run has no verdict on it.
    """

    findings: list[dict[str, Any]]
    stale: list[Waiver]
    unverified: list[Waiver]


def load_waivers(
    path: Path, *, explicit: bool, catalogue: Collection[str], source: str = "--waivers"
) -> list[Waiver]:
    """The waivers of ``path``, in file order; ``[]`` when the default file does not exist.

    ``explicit`` says the user named the file (``source`` is how: an option,
    a setting), so a missing one is their mistake; a missing default file
    just means no waivers. ``catalogue`` is the requirement ids a waiver may
    name. Every mistake is a :class:`UsageError` naming ``path:line``.
    """
    try:
        text = _read(path, source)
    except FileNotFoundError:
        if not explicit:
            return []
        raise UsageError(source, str(path), "an existing waivers file") from None
    return _parse(text, path, catalogue=catalogue, source=source)


def _read(path: Path, source: str) -> str:
    """The file's text; :class:`FileNotFoundError` is left to the caller, who knows if it matters."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UsageError(source, str(path), f"a readable file ({error.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UsageError(source, f"{path}:{line}", "UTF-8 text") from None


def _parse(text: str, path: Path, *, catalogue: Collection[str], source: str) -> list[Waiver]:
    def fail(line: int, expected: str) -> UsageError:
        return UsageError(source, f"{path}:{line}", expected)

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_POSITION.search(message)
        at_end = text.rstrip("\n").count("\n") + 1
        line = int(found.group(1)) if found and found.group(1) else at_end
        reason = _TOML_POSITION.sub("", message)
        raise fail(line, f"valid TOML ({reason})") from None
    lines = text.split("\n")
    for name in document:
        if name != "waiver":
            raise fail(_top_level_line(lines, name), f"only [[waiver]] tables, not {name!r}")
    entries = document.get("waiver", [])
    headers = [number for number, line in enumerate(lines, 1) if _HEADER.fullmatch(line)]
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise fail(_top_level_line(lines, "waiver"), "waiver as an array of [[waiver]] tables")
    if len(headers) != len(entries):
        raise fail(
            _top_level_line(lines, "waiver"),
            "each waiver written as its own [[waiver]] table, not in an inline array",
        )
    waivers: list[Waiver] = []
    seen: dict[tuple[str, str | None], int] = {}
    for index, (entry, header) in enumerate(zip(entries, headers, strict=True)):
        end = headers[index + 1] - 1 if index + 1 < len(headers) else len(lines)
        waiver = _entry(entry, header, lines[header:end], catalogue, fail)
        earlier = seen.setdefault((waiver.key, waiver.target), header)
        if earlier != header:
            raise fail(
                header,
                f"one waiver per finding and target ({waiver.key} is waived on line {earlier})",
            )
        waivers.append(waiver)
    return waivers


def _entry(
    entry: dict[str, Any],
    header: int,
    body: list[str],
    catalogue: Collection[str],
    fail: Callable[[int, str], UsageError],
) -> Waiver:
    def line_of(key: str) -> int:
        pattern = re.compile(
            rf"""[ \t]*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')[ \t]*[=.]"""
        )
        found = next((n for n, line in enumerate(body, header + 1) if pattern.match(line)), None)
        return found if found is not None else header

    for key in entry:
        if key not in _KEYS:
            raise fail(line_of(key), f"a waiver key ({', '.join(_KEYS)}), not {key!r}")
    for key in _OPTIONAL_TEXT:
        if key in entry and not (isinstance(entry[key], str) and entry[key].strip()):
            raise fail(line_of(key), f"{key} as a non-empty string")
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise fail(line_of("reason"), "a non-empty reason string")
    expires = entry.get("expires")
    # A TOML datetime parses to datetime.datetime, a subclass of date: refused,
    # since a waiver lasts whole days and a time would only suggest otherwise.
    if not isinstance(expires, datetime.date) or isinstance(expires, datetime.datetime):
        raise fail(
            line_of("expires"), "expires as a TOML date such as 2027-01-31 (unquoted, no time)"
        )
    finding, requirement, cls = entry.get("finding"), entry.get("requirement"), entry.get("class")
    if finding is not None and (requirement is not None or cls is not None):
        raise fail(
            line_of("requirement" if requirement is not None else "class"),
            "either finding or requirement and class, not both",
        )
    if finding is None and (requirement is None or cls is None):
        raise fail(header, "finding, or both requirement and class")
    known = f"a requirement of the catalogue ({', '.join(sorted(catalogue))})"
    if finding is not None:
        form = _FINDING_ID.fullmatch(finding)
        if form is None:
            raise fail(line_of("finding"), "a finding id <requirement>#<8 lowercase hex digits>")
        if form.group("requirement") not in catalogue:
            raise fail(line_of("finding"), f"a finding id of {known}")
    elif requirement not in catalogue:
        raise fail(line_of("requirement"), known)
    return Waiver(
        finding=finding,
        requirement=requirement,
        cls=cls,
        reason=reason,
        expires=expires,
        owner=entry.get("owner"),
        ticket=entry.get("ticket"),
        target=entry.get("target"),
        line=header,
    )


def _top_level_line(lines: list[str], name: str) -> int:
    key = rf"""(?:{re.escape(name)}|"{re.escape(name)}"|'{re.escape(name)}')"""
    pattern = re.compile(rf"[ \t]*(?:{key}[ \t]*[=.]|\[+[ \t]*{key}[ \t]*[\].])")
    return next((n for n, line in enumerate(lines, 1) if pattern.match(line)), 1)


def _requirement_of(waiver: Waiver) -> str:
    if waiver.finding is not None:
        return waiver.finding.partition("#")[0]
    assert waiver.requirement is not None  # load_waivers refuses a waiver with neither
    return waiver.requirement


def apply_waivers(
    findings: list[dict[str, Any]],
    waivers: list[Waiver],
    *,
    target: str,
    checked: Collection[str],
    today: datetime.date,
) -> WaiverOutcome:
    """Mark each finding a waiver covers ``waived`` (or ``expired``), and sort out the rest.

    ``checked`` is the requirement ids this run checked fully (passed,
    failed or affected; not the not-checked ones). A finding two waivers
    cover takes the first in file order. Waivers whose ``target`` scope
    leaves out this run's target play no part at all.
    """
    in_scope = [waiver for waiver in waivers if waiver.applies_to(target)]
    used: set[Waiver] = set()
    marked: list[dict[str, Any]] = []
    for finding in findings:
        copy = dict(finding)
        covering = [waiver for waiver in in_scope if waiver.matches(finding, target)]
        used.update(covering)
        copy["waiver"] = None
        if covering:
            waiver = covering[0]
            copy["status"] = "waived" if waiver.expires >= today else "expired"
            copy["waiver"] = {
                "reason": waiver.reason,
                "expires": waiver.expires.isoformat(),
                "days_left": (waiver.expires - today).days,
                "owner": waiver.owner,
                "ticket": waiver.ticket,
                "line": waiver.line,
            }
        marked.append(copy)
    unmatched = [waiver for waiver in in_scope if waiver not in used]
    return WaiverOutcome(
        findings=marked,
        stale=[waiver for waiver in unmatched if _requirement_of(waiver) in checked],
        unverified=[waiver for waiver in unmatched if _requirement_of(waiver) not in checked],
    )


def waiver_entry(
    finding: Mapping[str, Any],
    *,
    reason: str,
    expires: datetime.date,
    today: datetime.date,
    owner: str | None = None,
    ticket: str | None = None,
    target: str | None = None,
) -> str:
    """The TOML text of a ``[[waiver]]`` entry for ``finding`` (by id), with a comment saying what it is.

    ``expires`` must be after ``today``: a waiver that is born expired
    accepts nothing. Empty ``owner``, ``ticket`` and ``target`` are left out.
    """
    if not reason.strip():
        raise UsageError("--reason", reason, "a non-empty reason")
    if isinstance(expires, datetime.datetime) or expires <= today:
        raise UsageError("--expires", str(expires), f"a date after today ({today.isoformat()})")
    for argument, value in (
        ("--reason", reason),
        ("--owner", owner),
        ("--ticket", ticket),
        ("--target", target),
    ):
        if value and not _is_encodable(value):
            raise UsageError(argument, value, "text without unpaired surrogates")
    message = str(finding.get("message") or "").splitlines()
    about = f"{finding.get('requirement')} ({finding.get('class')})"
    comment = f"{about}: {message[0]}" if message else about
    lines = [
        f"# {_comment(comment)}",
        "[[waiver]]",
        f"finding = {_toml_string(str(finding['id']))}",
        f"reason = {_toml_string(reason)}",
        f"expires = {expires.isoformat()}",
    ]
    lines += [
        f"{key} = {_toml_string(value)}"
        for key, value in (("owner", owner), ("ticket", ticket), ("target", target))
        if value
    ]
    return "\n".join(lines) + "\n"


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(text: str, *, short: Mapping[str, str], byte_escape: bool) -> str:
    """``text`` with ``short``'s characters and every invisible one written as an escape."""

    def escape(ch: str) -> str:
        code = ord(ch)
        if ch in short:
            return short[ch]
        if unicodedata.category(ch) not in _ESCAPED_CATEGORIES:
            return ch
        if byte_escape and code <= 0xFF:
            return f"\\x{code:02x}"
        return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"

    return "".join(escape(ch) for ch in text)


def _comment(text: str) -> str:
    """``text`` fit for a TOML comment: one line, nothing invisible (Python's escapes, to be read)."""
    return _escaped(text, short={}, byte_escape=True)


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string, which tomllib reads back as ``text``."""
    return f'"{_escaped(text, short=_TOML_SHORT_ESCAPES, byte_escape=False)}"'


def append_waiver(path: Path, entry: str) -> None:
    """Add ``entry`` at the end of the waivers file, after a blank line; create the file if need be."""
    try:
        text, mode = _read(path, "--waivers"), stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        text, mode = _NEW_FILE_HEADER, 0o644
    if text and not text.endswith("\n"):
        text += "\n"
    if text.strip() and not text.endswith("\n\n"):
        text += "\n"
    text += entry if entry.endswith("\n") else entry + "\n"
    _write(path, text, mode)


def prune(path: Path, stale: Collection[Waiver]) -> int:
    """Remove the given waivers' entries from the file, leave every other byte; how many went.

    An entry is its header line up to the next ``[[waiver]]`` entry, with
    the ``#`` lines directly above the header (the comment
    :func:`waiver_entry` writes) and the blank lines that set it apart.
    Each waiver is found by its ``line``: a file changed since it was read
    is a :class:`UsageError`, not a guess.
    """
    if not stale:
        return 0
    lines = _read(path, "--waivers").split("\n")
    headers = [index for index, line in enumerate(lines) if _HEADER.fullmatch(line)]
    starts = [_entry_start(lines, header) for header in headers]
    # A text ending in a newline splits into a last empty string, which is no one's.
    end_of_text = len(lines) - 1 if lines[-1] == "" else len(lines)
    ends = [*starts[1:], end_of_text]
    removed: set[int] = set()
    for waiver in stale:
        if waiver.line - 1 not in headers:
            raise UsageError(
                "--waivers",
                f"{path}:{waiver.line}",
                f"the [[waiver]] header of {waiver.key} (the file changed since it was read)",
            )
        removed.add(headers.index(waiver.line - 1))
    dropped = {line for entry in removed for line in range(starts[entry], ends[entry])}
    kept = [line for index, line in enumerate(lines) if index not in dropped]
    _write(path, "\n".join(kept), stat.S_IMODE(path.stat().st_mode))
    return len(removed)


def _entry_start(lines: list[str], header: int) -> int:
    start = header
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    while start > 0 and not lines[start - 1].strip():
        start -= 1
    return start


def _write(path: Path, text: str, mode: int) -> None:
    """Write through a temporary file in the same folder and a rename: never half a file.

    Not :func:`jobs_conformance.report.write_atomic`: the report imports the
    gate, which imports this module. The temporary file is created 0600, so
    it is given the file's mode before it replaces it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
