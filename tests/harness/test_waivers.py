"""Waivers: the file's format and every mistake in it, matching, expiry, and the file edits."""

from __future__ import annotations

import datetime
import textwrap

import pytest

from jobs_conformance.contract import load_contract
from jobs_conformance.errors import UsageError
from jobs_conformance.results import finding_id
from jobs_conformance.waivers import (
    DEFAULT_PATH,
    Waiver,
    append_waiver,
    apply_waivers,
    load_waivers,
    prune,
    waiver_entry,
)

CATALOGUE = frozenset(r.id for r in load_contract().requirements)
TODAY = datetime.date(2026, 6, 15)
TARGET = "https://staging.example.com/v1"
BRACES = finding_id("http.malformed-4xx", "braces")
LEAP = finding_id("body.datetime", "createdAt: not a leap year")

GOOD = f"""\
# waivers of the staging service
[[waiver]]
finding = "{BRACES}"
reason = "braces accepted by the Go parser; fix planned"
expires = 2027-01-31

[[waiver]]
requirement = "body.datetime"
class = "createdAt: not a leap year"
reason = "upstream library"
expires = 2026-01-01
owner = "team-jobs"
ticket = "JOBS-123"
target = "https://staging.example.com/*"
"""


def _finding(requirement, kind, *, message="something failed", status="new"):
    return {
        "id": finding_id(requirement, kind),
        "requirement": requirement,
        "class": kind,
        "status": status,
        "severity": "must",
        "count": 1,
        "also_affects": [],
        "message": message,
        "tests": ["contract/test_x.py::test_y"],
    }


def _waiver(**fields):
    defaults = {
        "finding": None,
        "requirement": None,
        "cls": None,
        "reason": "accepted",
        "expires": datetime.date(2027, 1, 1),
        "owner": None,
        "ticket": None,
        "target": None,
        "line": 1,
    }
    return Waiver(**{**defaults, **fields})


def _load(tmp_path, text, *, explicit=True):
    path = tmp_path / "waivers.toml"
    path.write_text(text, encoding="utf-8")
    return load_waivers(path, explicit=explicit, catalogue=CATALOGUE)


def _usage_error(tmp_path, text):
    with pytest.raises(UsageError) as caught:
        _load(tmp_path, textwrap.dedent(text))
    return caught.value


# --- reading the file -----------------------------------------------------------------------


def test_a_good_file_gives_each_waiver_with_its_header_line(tmp_path):
    by_id, by_class = _load(tmp_path, GOOD)
    assert by_id == _waiver(
        finding=BRACES,
        reason="braces accepted by the Go parser; fix planned",
        expires=datetime.date(2027, 1, 31),
        line=2,
    )
    assert by_class == _waiver(
        requirement="body.datetime",
        cls="createdAt: not a leap year",
        reason="upstream library",
        expires=datetime.date(2026, 1, 1),
        owner="team-jobs",
        ticket="JOBS-123",
        target="https://staging.example.com/*",
        line=7,
    )
    assert by_id.key == BRACES
    assert by_class.key == "body.datetime createdAt: not a leap year"


def test_crlf_line_ends_and_spaced_headers_are_read(tmp_path):
    text = f'# x\r\n[[ waiver ]]  # the braces\r\nfinding = "{BRACES}"\r\nreason = "r"\r\nexpires = 2027-01-31\r\n'
    path = tmp_path / "waivers.toml"
    path.write_bytes(text.encode())
    (waiver,) = load_waivers(path, explicit=True, catalogue=CATALOGUE)
    assert (waiver.finding, waiver.line) == (BRACES, 2)


def test_a_missing_default_file_means_no_waivers(tmp_path):
    assert DEFAULT_PATH.name == "conformance-waivers.toml"
    assert load_waivers(tmp_path / DEFAULT_PATH, explicit=False, catalogue=CATALOGUE) == []


def test_a_missing_named_file_is_a_usage_error(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(UsageError) as caught:
        load_waivers(path, explicit=True, catalogue=CATALOGUE, source="JOBS_WAIVERS")
    assert caught.value.argument == "JOBS_WAIVERS"
    assert caught.value.value == str(path)


def test_an_unreadable_path_is_a_usage_error_even_by_default(tmp_path):
    with pytest.raises(UsageError) as caught:
        load_waivers(tmp_path, explicit=False, catalogue=CATALOGUE)
    assert caught.value.value == str(tmp_path)
    assert "readable" in caught.value.expected


def test_an_empty_file_has_no_waivers(tmp_path):
    assert _load(tmp_path, "# nothing waived yet\n") == []


def test_a_past_expiry_loads_the_waiver_expired_not_an_error(tmp_path):
    text = f'[[waiver]]\nfinding = "{BRACES}"\nreason = "r"\nexpires = 2001-01-01\n'
    (waiver,) = _load(tmp_path, text)
    assert waiver.expires == datetime.date(2001, 1, 1)


def test_non_utf8_names_the_line_of_the_bad_byte(tmp_path):
    path = tmp_path / "waivers.toml"
    path.write_bytes(b'[[waiver]]\nfinding = "x"\nreason = "caf\xe9"\n')
    with pytest.raises(UsageError) as caught:
        load_waivers(path, explicit=True, catalogue=CATALOGUE)
    assert caught.value.value == f"{path}:3"
    assert "UTF-8" in caught.value.expected


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param('# a\n[[waiver]]\nreason = "r"\nexpires = 2027-13-01\n', 4, id="bad-date"),
        pytest.param('[[waiver]]\nreason = "unterminated\nexpires = 2027-01-01\n', 2, id="newline"),
        pytest.param('\n\n[[waiver]]\nreason = "r"\nreason = "s"\n', 5, id="duplicate-key"),
        pytest.param('[[waiver]]\n\nreason = """never closed\n\n', 3, id="at-end"),
    ],
)
def test_bad_toml_names_its_line(tmp_path, text, line):
    error = _usage_error(tmp_path, text)
    assert error.value.endswith(f":{line}")
    assert error.expected.startswith("valid TOML (")
    assert "(at line" not in error.expected


def test_a_top_level_key_other_than_waiver_is_named_with_its_line(tmp_path):
    error = _usage_error(tmp_path, '# waivers\n\nversion = 2\n[[waiver]]\nreason = "r"\n')
    assert error.value.endswith(":3")
    assert "'version'" in error.expected


def test_a_single_waiver_table_is_not_an_array_of_tables(tmp_path):
    error = _usage_error(tmp_path, '# one\n[waiver]\nreason = "r"\nexpires = 2027-01-01\n')
    assert error.value.endswith(":2")
    assert "array" in error.expected


def test_an_inline_array_of_waivers_is_refused(tmp_path):
    text = f'\nwaiver = [{{finding = "{BRACES}", reason = "r", expires = 2027-01-01}}]\n'
    error = _usage_error(tmp_path, text)
    assert error.value.endswith(":2")
    assert "[[waiver]]" in error.expected


def test_an_unknown_key_is_named_on_its_own_line(tmp_path):
    text = f"""\
        [[waiver]]
        finding = "{BRACES}"
        reason = "r"
        expires = 2027-01-31

        [[waiver]]
        expiry = 2027-01-31
        finding = "{LEAP}"
        reason = "r"
        expires = 2027-01-31
        """
    error = _usage_error(tmp_path, text)
    assert error.argument == "--waivers"
    assert error.value == f"{tmp_path / 'waivers.toml'}:7"
    assert "'expiry'" in error.expected
    assert str(error) == (
        f"--waivers: '{tmp_path / 'waivers.toml'}:7' is not valid; expected {error.expected}"
    )


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        pytest.param(f'finding = "{BRACES}"\nexpires = 2027-01-31\n', 2, "reason", id="no-reason"),
        pytest.param(
            f'finding = "{BRACES}"\nreason = "  "\nexpires = 2027-01-31\n', 4, "reason", id="blank"
        ),
        pytest.param(f'finding = "{BRACES}"\nreason = "r"\n', 2, "expires", id="no-expires"),
        pytest.param(
            f'finding = "{BRACES}"\nreason = "r"\nexpires = "2027-01-31"\n',
            5,
            "TOML date",
            id="expires-string",
        ),
        pytest.param(
            f'finding = "{BRACES}"\nreason = "r"\nexpires = 2027-01-31T00:00:00Z\n',
            5,
            "TOML date",
            id="expires-datetime",
        ),
        pytest.param(
            f'reason = "r"\nexpires = 2027-01-31\nowner = ""\nfinding = "{BRACES}"\n',
            5,
            "owner",
            id="empty-owner",
        ),
        pytest.param('reason = "r"\nexpires = 2027-01-31\n', 2, "finding", id="neither-form"),
        pytest.param(
            'requirement = "body.datetime"\nreason = "r"\nexpires = 2027-01-31\n',
            2,
            "class",
            id="requirement-without-class",
        ),
        pytest.param(
            f'finding = "{BRACES}"\nreason = "r"\nexpires = 2027-01-31\nclass = "braces"\n',
            6,
            "not both",
            id="both-forms",
        ),
        pytest.param(
            'finding = "http.malformed-4xx#1A2B3C4D"\nreason = "r"\nexpires = 2027-01-31\n',
            3,
            "8 lowercase hex",
            id="uppercase-hex",
        ),
        pytest.param(
            'reason = "r"\nfinding = "http.malformed-4xx#1a2b3c4"\nexpires = 2027-01-31\n',
            4,
            "8 lowercase hex",
            id="seven-hex",
        ),
        pytest.param(
            'reason = "r"\nfinding = "http.malformed-4xx"\nexpires = 2027-01-31\n',
            4,
            "8 lowercase hex",
            id="no-hash",
        ),
        pytest.param(
            'finding = "http.malformed-5xx#1a2b3c4d"\nreason = "r"\nexpires = 2027-01-31\n',
            3,
            "catalogue",
            id="finding-of-unknown-requirement",
        ),
        pytest.param(
            'reason = "r"\nexpires = 2027-01-31\nclass = "x"\nrequirement = "body.date"\n',
            6,
            "catalogue",
            id="unknown-requirement",
        ),
    ],
)
def test_a_bad_entry_names_the_line_and_what_was_expected(tmp_path, body, line, expected):
    # Line 1 is a comment and line 2 the header: keys start on line 3.
    error = _usage_error(tmp_path, f"# one waiver\n[[waiver]]\n{body}")
    assert error.value.endswith(f":{line}"), error
    assert expected in error.expected


def test_the_line_of_a_key_is_searched_in_its_own_entry(tmp_path):
    # The first entry's reason (line 3) must not be named for the second's empty one.
    text = f"""\
        [[waiver]]
        finding = "{BRACES}"
        reason = "fine"
        expires = 2027-01-31
        [[waiver]]
        finding = "{LEAP}"
        expires = 2027-01-31
        reason = ""
        """
    assert _usage_error(tmp_path, text).value.endswith(":8")


def test_two_waivers_of_one_finding_and_target_are_refused_at_the_second(tmp_path):
    entry = f'[[waiver]]\nfinding = "{BRACES}"\nreason = "r"\nexpires = 2027-01-31\n'
    error = _usage_error(tmp_path, entry + "\n" + entry)
    assert error.value.endswith(":6")
    assert "line 1" in error.expected


def test_one_finding_may_be_waived_on_two_targets(tmp_path):
    entry = f'[[waiver]]\nfinding = "{BRACES}"\nreason = "r"\nexpires = 2027-01-31\n'
    waivers = _load(tmp_path, entry + entry + 'target = "https://a.example/*"\n')
    assert [w.target for w in waivers] == [None, "https://a.example/*"]


# --- matching ---------------------------------------------------------------------------------


def test_a_waiver_matches_by_finding_id():
    waiver = _waiver(finding=BRACES)
    assert waiver.matches(_finding("http.malformed-4xx", "braces"), TARGET)
    assert not waiver.matches(_finding("http.malformed-4xx", "brackets"), TARGET)


def test_a_waiver_matches_by_requirement_and_class():
    waiver = _waiver(requirement="http.malformed-4xx", cls="braces")
    assert waiver.matches(_finding("http.malformed-4xx", "braces"), TARGET)
    assert not waiver.matches(_finding("http.malformed-4xx", "brackets"), TARGET)
    assert not waiver.matches(_finding("http.unknown-404", "braces"), TARGET)


@pytest.mark.parametrize(
    ("scope", "target", "matches"),
    [
        (None, TARGET, True),
        ("https://staging.example.com/*", TARGET, True),
        ("https://staging.example.com/*", "https://prod.example.com/v1", False),
        ("https://*.example.com/*", "https://prod.example.com/v1", True),
        ("https://staging.example.com/*", "HTTPS://STAGING.EXAMPLE.COM/v1", False),
    ],
)
def test_the_target_scope_is_an_fnmatch_pattern_on_the_target_url(scope, target, matches):
    waiver = _waiver(finding=BRACES, target=scope)
    assert waiver.matches(_finding("http.malformed-4xx", "braces"), target) is matches


# --- applying ---------------------------------------------------------------------------------


def test_a_covered_finding_is_waived_until_its_date_and_expired_after():
    findings = [_finding("http.malformed-4xx", "braces"), _finding("body.uuid", "jobId: shape")]
    waivers = [
        _waiver(finding=BRACES, expires=TODAY, owner="team-jobs", ticket="JOBS-1", line=4),
        _waiver(requirement="body.uuid", cls="jobId: shape", expires=TODAY - datetime.timedelta(3)),
    ]
    outcome = apply_waivers(findings, waivers, target=TARGET, checked=CATALOGUE, today=TODAY)
    waived, expired = outcome.findings
    assert waived["status"] == "waived"
    assert waived["waiver"] == {
        "reason": "accepted",
        "expires": TODAY.isoformat(),
        "days_left": 0,
        "owner": "team-jobs",
        "ticket": "JOBS-1",
        "line": 4,
    }
    assert expired["status"] == "expired"
    assert expired["waiver"]["days_left"] == -3
    assert (outcome.stale, outcome.unverified) == ([], [])


def test_days_left_counts_to_the_expiry_date():
    waiver = _waiver(finding=BRACES, expires=TODAY + datetime.timedelta(days=30))
    findings = [_finding("http.malformed-4xx", "braces")]
    outcome = apply_waivers(findings, [waiver], target=TARGET, checked=CATALOGUE, today=TODAY)
    assert outcome.findings[0]["waiver"]["days_left"] == 30


def test_uncovered_findings_keep_their_status_and_the_input_is_not_changed():
    findings = [_finding("http.unknown-404", "200 for an unknown id", status="new")]
    before = [dict(f) for f in findings]
    waivers = [_waiver(finding=BRACES)]
    outcome = apply_waivers(findings, waivers, target=TARGET, checked=set(), today=TODAY)
    assert outcome.findings == [{**before[0], "waiver": None}]
    assert findings == before
    assert outcome.findings[0] is not findings[0]


def test_the_first_covering_waiver_in_file_order_decides():
    findings = [_finding("http.malformed-4xx", "braces")]
    first = _waiver(finding=BRACES, expires=TODAY - datetime.timedelta(1), line=2)
    second = _waiver(requirement="http.malformed-4xx", cls="braces", line=8)
    outcome = apply_waivers(
        findings, [first, second], target=TARGET, checked=CATALOGUE, today=TODAY
    )
    assert outcome.findings[0]["status"] == "expired"
    assert outcome.findings[0]["waiver"]["line"] == 2
    assert outcome.stale == []


def test_a_waiver_of_a_checked_requirement_without_its_finding_is_stale():
    gone = _waiver(finding=BRACES)
    unseen = _waiver(requirement="body.datetime", cls="createdAt: not a leap year")
    outcome = apply_waivers(
        [], [gone, unseen], target=TARGET, checked={"http.malformed-4xx"}, today=TODAY
    )
    assert outcome.stale == [gone]
    assert outcome.unverified == [unseen]


def test_a_waiver_scoped_to_another_target_is_neither_stale_nor_unverified():
    elsewhere = [
        _waiver(finding=BRACES, target="https://prod.example.com/*"),
        _waiver(requirement="body.datetime", cls="x", target="https://prod.example.com/*"),
    ]
    findings = [_finding("http.malformed-4xx", "braces")]
    outcome = apply_waivers(
        findings, elsewhere, target=TARGET, checked={"http.malformed-4xx"}, today=TODAY
    )
    assert outcome.findings[0]["status"] == "new"
    assert (outcome.stale, outcome.unverified) == ([], [])


# --- writing entries --------------------------------------------------------------------------

TRICKY_REASON = 'the "Go" parser\\accepts {braces}\nsecond line\ttab \x7f \u202e end'


def test_an_entry_round_trips_through_load_waivers(tmp_path):
    finding = _finding("http.malformed-4xx", "braces")
    entry = waiver_entry(
        finding,
        reason=TRICKY_REASON,
        expires=datetime.date(2027, 1, 31),
        today=TODAY,
        owner='team "jobs"',
        ticket="JOBS-1",
        target="https://staging.example.com/*",
    )
    (waiver,) = _load(tmp_path, entry)
    assert waiver == _waiver(
        finding=finding["id"],
        reason=TRICKY_REASON,
        expires=datetime.date(2027, 1, 31),
        owner='team "jobs"',
        ticket="JOBS-1",
        target="https://staging.example.com/*",
        line=2,
    )


def test_an_entry_is_commented_with_the_first_line_of_its_message_escaped():
    finding = _finding("http.malformed-4xx", "braces", message="GET /jobs/{x}\x1b[31m: 200\nmore")
    entry = waiver_entry(finding, reason="r", expires=datetime.date(2027, 1, 31), today=TODAY)
    comment, header, *keys = entry.splitlines()
    assert comment == r"# http.malformed-4xx (braces): GET /jobs/{x}\x1b[31m: 200"
    assert header == "[[waiver]]"
    assert keys == [f'finding = "{BRACES}"', 'reason = "r"', "expires = 2027-01-31"]


@pytest.mark.parametrize("expires", [TODAY, TODAY - datetime.timedelta(days=1)])
def test_an_entry_must_expire_after_today(expires):
    finding = _finding("http.malformed-4xx", "braces")
    with pytest.raises(UsageError) as caught:
        waiver_entry(finding, reason="r", expires=expires, today=TODAY)
    assert caught.value.argument == "--expires"


@pytest.mark.parametrize("reason", ["", "  \n"])
def test_an_entry_needs_a_reason(reason):
    finding = _finding("http.malformed-4xx", "braces")
    with pytest.raises(UsageError) as caught:
        waiver_entry(finding, reason=reason, expires=datetime.date(2027, 1, 1), today=TODAY)
    assert caught.value.argument == "--reason"


def test_append_creates_the_file_with_a_header_comment(tmp_path):
    path = tmp_path / "sub" / "conformance-waivers.toml"
    finding = _finding("http.malformed-4xx", "braces")
    append_waiver(
        path, waiver_entry(finding, reason="r", expires=datetime.date(2027, 1, 1), today=TODAY)
    )
    text = path.read_text()
    assert text.startswith("# ")
    assert "\n\n# http.malformed-4xx (braces)" in text
    assert [w.finding for w in load_waivers(path, explicit=True, catalogue=CATALOGUE)] == [BRACES]


def test_append_then_prune_leaves_the_rest_byte_identical(tmp_path):
    path = tmp_path / "conformance-waivers.toml"
    original = GOOD.replace("\n", "\r\n", 1) + "# a closing note of the owner\n"
    path.write_bytes(original.encode())
    expires = datetime.date(2027, 1, 1)
    entries = [
        waiver_entry(_finding("body.uuid", kind), reason=f"r {kind}", expires=expires, today=TODAY)
        for kind in ("one", "two", "three")
    ]
    for entry in entries:
        append_waiver(path, entry)
    appended = path.read_bytes()
    waivers = load_waivers(path, explicit=True, catalogue=CATALOGUE)
    by_kind = {w.finding: w for w in waivers}

    def kind(name):
        return by_kind[finding_id("body.uuid", name)]

    assert prune(path, [kind("two")]) == 1
    expected = tmp_path / "expected.toml"
    expected.write_bytes(original.encode())
    append_waiver(expected, entries[0])
    append_waiver(expected, entries[2])
    assert path.read_bytes() == expected.read_bytes()

    path.write_bytes(appended)
    assert prune(path, [kind("one"), kind("two"), kind("three")]) == 3
    assert path.read_bytes() == original.encode()


def test_prune_removes_a_hand_written_entry_with_its_comments_only(tmp_path):
    path = tmp_path / "conformance-waivers.toml"
    path.write_text(GOOD)
    _, second = load_waivers(path, explicit=True, catalogue=CATALOGUE)
    assert prune(path, [second]) == 1
    assert path.read_text() == GOOD.split("\n[[waiver]]\nrequirement")[0]
    assert prune(path, []) == 0


def test_prune_refuses_a_file_changed_since_it_was_read(tmp_path):
    path = tmp_path / "conformance-waivers.toml"
    path.write_text(GOOD)
    _, second = load_waivers(path, explicit=True, catalogue=CATALOGUE)
    path.write_text("# a new first line\n" + GOOD)
    with pytest.raises(UsageError) as caught:
        prune(path, [second])
    assert caught.value.value == f"{path}:7"
    assert path.read_text() == "# a new first line\n" + GOOD
