"""The oracle: one check per requirement, exact verdicts, evidence, and no crash on hostile bodies."""

from __future__ import annotations

import dataclasses
import json

import pytest
from tests_support import DOC_EXAMPLE

from jobs_conformance.contract import load_contract
from jobs_conformance.exchange import Exchange, HttpResponse, Intent
from jobs_conformance.oracle import CHECKS, Problem, check, judge, judge_body

EXAMPLE = DOC_EXAMPLE
JSON = (("Content-Type", "application/json"),)


def _ids(judgement):
    return {v.requirement for v in judgement.violations}


def test_registry_and_catalogue_are_one_to_one():
    assert list(CHECKS) == [r.id for r in load_contract().requirements]


def test_registry_refuses_a_second_check_for_a_requirement():
    with pytest.raises(ValueError, match="already registered"):
        check("body.json", applies=lambda exchange, contract: True)(
            lambda exchange, contract: iter(())
        )


def test_doc_example_has_no_violation():
    assert judge_body(json.dumps(EXAMPLE).encode(), "application/json").violations == ()


@pytest.mark.parametrize(
    ("change", "requirement", "message"),
    [
        ({"createdAt": "1900-02-29T05:31:56Z"}, "body.datetime", "1900, which is not a leap year"),
        ({"createdAt": "2023-11-07T05:31:56+00:00"}, "body.datetime", "offset '+00:00'"),
        ({"updatedAt": "2023-11-07T05:31:56z"}, "body.datetime", "lower-case"),
        ({"id": "3c90c3cc-0d44-0b50-8888-8dd25736052a"}, "body.uuid", "version nibble '0'"),
        ({"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a\n"}, "body.uuid", "ends with a newline"),
        ({"organizationId": "ffffffff-ffff-ffff-ffff-ffffffffffff"}, "body.uuid", "max UUID"),
        ({"jobConfigJson": "{}"}, "body.job-config", "holding JSON text"),
        ({"name": None}, "body.types", "name is a JSON null"),
        ({"createdAt": "2023-11-07T05:31Z"}, "body.datetime-rfc3339", "seconds are missing"),
        ({"createdAt": "2023-11-08T00:00:00Z"}, "body.timeline", "before createdAt"),
        ({"jobConfigJson": {"workflowExecutionOrder": ["x"]}}, "body.workflow-order", "item 0"),
    ],
)
def test_single_field_faults_name_their_requirement_and_evidence(change, requirement, message):
    judgement = judge_body(json.dumps({**EXAMPLE, **change}).encode(), "application/json")
    # A calendar-invalid date breaks RFC 3339 as well, as a consequence.
    assert _ids(judgement) == {requirement}
    violation = next(v for v in judgement.violations if v.requirement == requirement)
    assert message in violation.message
    assert violation.severity == load_contract().requirement(requirement).severity


def test_message_reads_like_the_style_guide():
    body = json.dumps({**EXAMPLE, "createdAt": "2100-02-29T05:31:56Z"}).encode()
    (violation,) = judge_body(body).violations
    assert (
        violation.message
        == "createdAt = '2100-02-29T05:31:56Z': is February 29 of 2100, which is not a leap year"
    )
    assert violation.pointer == "/createdAt" and violation.value == "2100-02-29T05:31:56Z"
    # The same value is no RFC 3339 date-time either, for the same reason: one finding.
    assert violation.also_affects == ("body.datetime-rfc3339",)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "nests too deeply"),
        (b'{"name": "\xff"}', "not valid UTF-8"),
        (b"\xef\xbb\xbf{}", "byte-order mark"),
        (b'{"name": NaN}', "NaN is not a JSON value"),
        (b'{"name": 1, "name": 2}', "duplicate member name"),
        (b"<html>oops</html>", "not JSON"),
        (b"", "not JSON"),
        (b"[]", "JSON array, not an object"),
        (b"null", "JSON null, not an object"),
    ],
)
def test_hostile_bodies_are_body_json_violations_not_exceptions(body, reason):
    judgement = judge_body(body, "application/json")
    assert _ids(judgement) == {"body.json"}
    assert reason in judgement.violations[0].message


def test_truncated_body_is_a_violation():
    response = HttpResponse(
        200, JSON, json.dumps(EXAMPLE).encode(), truncated="connection reset after 120 bytes"
    )
    judgement = judge(Exchange(response, Intent.KNOWN, job_id=EXAMPLE["id"]))
    assert _ids(judgement) == {"body.json"}


# Exchanges and the requirement they must (or must not) break: the HTTP-level
# rules as data.
_BODY = json.dumps(EXAMPLE).encode()
_OTHER = json.dumps({**EXAMPLE, "name": "changed"}).encode()
HTTP_CASES = [
    ("held job, 200 json", Intent.KNOWN, 200, JSON, _BODY, EXAMPLE["id"], set()),
    ("held job, 404", Intent.KNOWN, 404, JSON, b"{}", EXAMPLE["id"], {"http.status-known"}),
    ("held job, 500", Intent.KNOWN, 500, (), b"", EXAMPLE["id"], {"http.status-known"}),
    (
        "held job, text/html",
        Intent.KNOWN,
        200,
        (("Content-Type", "text/html"),),
        _BODY,
        EXAMPLE["id"],
        {"http.content-type"},
    ),
    (
        "held job, no content type",
        Intent.KNOWN,
        200,
        (),
        _BODY,
        EXAMPLE["id"],
        {"http.content-type"},
    ),
    (
        "charset parameter is fine",
        Intent.KNOWN,
        200,
        (("content-type", "Application/JSON; charset=utf-8"),),
        _BODY,
        EXAMPLE["id"],
        set(),
    ),
    (
        "wrong job returned",
        Intent.KNOWN,
        200,
        JSON,
        _BODY,
        "8c90c3cc-0d44-4b50-8888-8dd25736052a",
        {"http.id-echo"},
    ),
    (
        "echo compares case-insensitively",
        Intent.KNOWN,
        200,
        JSON,
        _BODY,
        EXAMPLE["id"].upper(),
        set(),
    ),
    (
        "unknown, 404",
        Intent.UNKNOWN,
        404,
        JSON,
        b"{}",
        "8c90c3cc-0d44-4b50-8888-8dd25736052a",
        set(),
    ),
    (
        "unknown, 410",
        Intent.UNKNOWN,
        410,
        JSON,
        b"{}",
        "8c90c3cc-0d44-4b50-8888-8dd25736052a",
        set(),
    ),
    (
        "unknown, 400",
        Intent.UNKNOWN,
        400,
        JSON,
        b"{}",
        "8c90c3cc-0d44-4b50-8888-8dd25736052a",
        {"http.unknown-404"},
    ),
    (
        "unknown, 422",
        Intent.UNKNOWN,
        422,
        JSON,
        b"{}",
        "8c90c3cc-0d44-4b50-8888-8dd25736052a",
        {"http.unknown-404"},
    ),
    (
        "unknown, 500",
        Intent.UNKNOWN,
        500,
        JSON,
        b"{}",
        "8c90c3cc-0d44-4b50-8888-8dd25736052a",
        {"http.unknown-404"},
    ),
    ("malformed, 400", Intent.MALFORMED, 400, JSON, b"{}", "{x}", set()),
    ("malformed, 404", Intent.MALFORMED, 404, JSON, b"{}", "{x}", set()),
    ("malformed, 422", Intent.MALFORMED, 422, JSON, b"{}", "{x}", set()),
    ("malformed, 301", Intent.MALFORMED, 301, (), b"", "{x}", {"http.malformed-4xx"}),
    ("malformed, 500", Intent.MALFORMED, 500, (), b"", "{x}", {"http.malformed-4xx"}),
    ("no credentials, 401", Intent.UNAUTHENTICATED, 401, (), b"", EXAMPLE["id"], set()),
    ("no credentials, 403", Intent.UNAUTHENTICATED, 403, (), b"", EXAMPLE["id"], set()),
    ("no credentials, 404", Intent.UNAUTHENTICATED, 404, (), b"", EXAMPLE["id"], {"auth.required"}),
]


@pytest.mark.parametrize(
    ("intent", "status", "headers", "body", "job_id", "expected"),
    [c[1:] for c in HTTP_CASES],
    ids=[c[0] for c in HTTP_CASES],
)
def test_http_rules(intent, status, headers, body, job_id, expected):
    exchange = Exchange(HttpResponse(status, headers, body), intent, job_id=job_id)
    assert _ids(judge(exchange)) == expected


@pytest.mark.parametrize(
    ("intent", "first", "second", "status", "expected"),
    [
        (Intent.REPEAT, _BODY, _BODY, 200, set()),
        (Intent.REPEAT, _BODY, _OTHER, 200, {"http.idempotent"}),
        (Intent.REPEAT, _BODY, b"{}", 404, {"http.idempotent"}),
        (Intent.CASE_VARIANT, _BODY, _BODY, 200, set()),
        (Intent.CASE_VARIANT, _BODY, _OTHER, 200, {"http.case-insensitive"}),
        (Intent.CASE_VARIANT, _BODY, b"{}", 404, {"http.case-insensitive"}),
    ],
)
def test_comparisons_with_a_baseline(intent, first, second, status, expected):
    baseline = Exchange(HttpResponse(200, JSON, first), Intent.KNOWN, job_id=EXAMPLE["id"])
    exchange = Exchange(
        HttpResponse(status, JSON, second), intent, job_id=EXAMPLE["id"].upper(), baseline=baseline
    )
    assert _ids(judge(exchange)) == expected


@pytest.mark.parametrize(
    ("stored", "returned", "expected"),
    [
        ({}, {}, set()),
        ({"createdAt": "2020-02-29T10:00Z"}, {"createdAt": "2020-02-29T10:00:00.000Z"}, set()),
        ({"id": EXAMPLE["id"].upper()}, {}, set()),
        (
            {"createdAt": "2020-02-29T10:00:00Z"},
            {"createdAt": "2020-03-01T10:00:00Z"},
            {"seed.round-trip"},
        ),
        (
            {"createdAt": "2020-02-29T10:00:00.123Z"},
            {"createdAt": "2020-02-29T10:00:00Z"},
            {"seed.round-trip"},
        ),
        ({"name": "Zoë"}, {"name": "Zo?"}, {"seed.round-trip"}),
    ],
)
def test_seed_round_trip_compares_values_not_representations(stored, returned, expected):
    seeded = {**EXAMPLE, **stored}
    body = json.dumps({**EXAMPLE, **returned}).encode()
    exchange = Exchange(
        HttpResponse(200, JSON, body), Intent.SEEDED, job_id=EXAMPLE["id"], expected=seeded
    )
    assert _ids(judge(exchange)) - {"body.datetime-rfc3339"} == expected


def test_a_crashing_check_is_reported_not_raised(monkeypatch):
    def broken(exchange, contract):
        raise RuntimeError("bug in a check")
        yield Problem("unreachable")

    monkeypatch.setitem(
        CHECKS, "body.timeline", dataclasses.replace(CHECKS["body.timeline"], function=broken)
    )
    judgement = judge_body(json.dumps(EXAMPLE).encode())
    assert [c.requirement for c in judgement.crashes] == ["body.timeline"]
    assert "bug in a check" in judgement.crashes[0].error
    assert judgement.violations == ()


def test_what_a_crashing_check_found_before_it_raised_is_dropped(monkeypatch):
    def half_done(exchange, contract):
        yield Problem("found first", "/name")
        raise RuntimeError("bug in a check")

    monkeypatch.setitem(
        CHECKS, "body.types", dataclasses.replace(CHECKS["body.types"], function=half_done)
    )
    body = json.dumps({**EXAMPLE, "id": "not-a-uuid"}).encode()
    judgement = judge_body(body, "application/json")
    assert [c.requirement for c in judgement.crashes] == ["body.types"]
    # The other checks still judge, and still fold their consequences.
    assert _ids(judgement) == {"body.uuid"}


# --- One root cause, one finding.

HELD_BODY = json.dumps(EXAMPLE).encode()


def _held(
    status: int,
    job_id: str = EXAMPLE["id"],
    body: bytes = HELD_BODY,
    intent: Intent = Intent.KNOWN,
    **fields,
):
    return Exchange(HttpResponse(status, JSON, body), intent, job_id=job_id, **fields)


def test_a_near_miss_answered_with_the_held_job_is_one_malformed_finding():
    near_miss = Exchange(
        HttpResponse(200, JSON, HELD_BODY),
        Intent.MALFORMED,
        job_id=EXAMPLE["id"].replace("-", ""),
        label="no-hyphens",
        about=EXAMPLE["id"],
        detail="read as that id by Python uuid.UUID",
    )
    (violation,) = judge(near_miss).violations
    assert violation.requirement == "http.malformed-4xx" and violation.kind == "no-hyphens"
    assert violation.also_affects == ()  # the body's id is the held id, as a value
    assert "no-hyphens of the held id" in violation.message and "uuid.UUID" in violation.message


def test_a_malformed_id_answered_with_a_page_folds_what_the_page_breaks():
    page = Exchange(
        HttpResponse(200, (("Content-Type", "text/html"),), b"<html>"),
        Intent.MALFORMED,
        job_id="{x}",
    )
    (violation,) = judge(page).violations
    assert violation.requirement == "http.malformed-4xx"
    assert violation.also_affects == ("body.json", "http.content-type")


def test_an_unknown_id_answered_with_another_job_is_an_id_echo_finding_and_owns_the_rest():
    other = Exchange(
        HttpResponse(200, (("Content-Type", "text/plain"),), HELD_BODY),
        Intent.UNKNOWN,
        job_id="00000000-0000-4000-8000-000000000001",
    )
    (violation,) = judge(other).violations
    assert violation.requirement == "http.id-echo"
    # Through the unknown id's 200, the body's Content-Type too.
    assert violation.also_affects == ("http.content-type", "http.unknown-404")


def test_a_held_job_served_with_two_independent_faults_is_two_findings():
    body = json.dumps({**EXAMPLE, "createdAt": "2023-11-07T05:31:56+00:00"}).encode()
    served = Exchange(
        HttpResponse(200, (("Content-Type", "text/plain"),), body),
        Intent.KNOWN,
        job_id=EXAMPLE["id"],
    )
    assert _ids(judge(served)) == {"body.datetime", "http.content-type"}
    assert all(v.also_affects == () for v in judge(served).violations)


def test_a_held_job_missing_in_every_form_names_the_id_and_the_forms_tried():
    upper = _held(404, EXAMPLE["id"].upper())
    (violation,) = judge(_held(404, alternates=(upper,))).violations
    assert violation.requirement == "http.status-known" and violation.kind == EXAMPLE["id"]
    assert (
        EXAMPLE["id"] in violation.message and f"{EXAMPLE['id'].upper()!r} 404" in violation.message
    )


def test_a_held_job_found_in_another_case_only_is_no_status_finding_but_a_case_one():
    upper = _held(200, EXAMPLE["id"].upper())
    declared = _held(404, alternates=(upper,))
    judgement = judge(declared)
    # Served in another case: the job is found (checked, passed); the case is the finding.
    assert judgement.violations == () and "http.status-known" in judgement.applicable
    variant = dataclasses.replace(upper, intent=Intent.CASE_VARIANT, baseline=declared)
    assert _ids(judge(variant)) == {"http.case-insensitive"}


def test_a_job_refused_in_every_case_is_no_evidence_about_case():
    variant = _held(404, EXAMPLE["id"].upper(), intent=Intent.CASE_VARIANT, baseline=_held(404))
    judgement = judge(variant)
    assert judgement.violations == () and "http.case-insensitive" not in judgement.applicable


def test_another_case_is_compared_by_job_identity_minus_what_changes_between_reads():
    touched = json.dumps({**EXAMPLE, "updatedAt": "2024-01-01T00:00:00Z"}).encode()
    repeat = _held(200, body=touched, intent=Intent.REPEAT)
    variant = _held(
        200, EXAMPLE["id"].upper(), body=touched, intent=Intent.CASE_VARIANT, baseline=_held(200)
    )
    assert _ids(judge(variant)) == {"http.case-insensitive"}
    assert _ids(judge(dataclasses.replace(variant, alternates=(repeat,)))) == set()


@pytest.mark.parametrize(
    ("intent", "status", "expected"),
    [
        (Intent.MAYBE_HELD, 200, set()),
        (Intent.MAYBE_HELD, 404, set()),
        (Intent.MAYBE_HELD, 400, {"http.unknown-404"}),
        (Intent.UNKNOWN, 200, {"http.unknown-404"}),
    ],
)
def test_a_fixed_id_may_be_held_and_a_random_one_may_not(intent, status, expected):
    body = HELD_BODY if status == 200 else b"{}"
    exchange = Exchange(HttpResponse(status, JSON, body), intent, job_id=EXAMPLE["id"])
    assert _ids(judge(exchange)) == expected


def test_a_seeded_job_compares_only_what_is_stable_between_its_two_reads():
    stored = {**EXAMPLE, "name": "stored"}
    first = json.dumps({**stored, "updatedAt": "2024-01-01T00:00:00Z", "name": "x"}).encode()
    second = json.dumps({**stored, "updatedAt": "2024-01-02T00:00:00Z", "name": "x"}).encode()
    seeded = Exchange(
        HttpResponse(200, JSON, second),
        Intent.SEEDED,
        job_id=EXAMPLE["id"],
        expected=stored,
        baseline=Exchange(HttpResponse(200, JSON, first), Intent.SEEDED, job_id=EXAMPLE["id"]),
    )
    by_requirement = {v.requirement: v for v in judge(seeded).violations}
    assert set(by_requirement) == {"http.idempotent", "seed.round-trip"}
    # updatedAt changed between the reads: the idempotency finding's, not the store's.
    assert by_requirement["seed.round-trip"].pointer == "/name"


def test_a_seeded_job_not_found_is_a_status_finding():
    seeded = Exchange(
        HttpResponse(400, JSON, b"{}"), Intent.SEEDED, job_id=EXAMPLE["id"], expected=EXAMPLE
    )
    assert _ids(judge(seeded)) == {"http.status-known"}


def test_two_problems_in_two_members_stay_two_findings_though_one_owns_the_other_per_member():
    body = json.dumps(
        {**EXAMPLE, "createdAt": "2023-11-07 05:31:56Z", "updatedAt": "2023-11-08T05:31Z"}
    ).encode()
    by_requirement = {v.requirement: v for v in judge_body(body, "application/json").violations}
    assert set(by_requirement) == {"body.datetime", "body.datetime-rfc3339"}
    assert by_requirement["body.datetime"].also_affects == ("body.datetime-rfc3339",)
    assert by_requirement["body.datetime-rfc3339"].pointer == "/updatedAt"


def test_a_swapped_timeline_owns_what_both_timestamps_read_back_as():
    stored = {**EXAMPLE, "updatedAt": "2024-01-01T00:00:00Z"}
    served = {**stored, "createdAt": stored["updatedAt"], "updatedAt": stored["createdAt"]}
    seeded = Exchange(
        HttpResponse(200, JSON, json.dumps(served).encode()),
        Intent.SEEDED,
        job_id=EXAMPLE["id"],
        expected=stored,
    )
    (violation,) = judge(seeded).violations
    assert violation.requirement == "body.timeline"
    assert violation.also_affects == ("seed.round-trip",) and violation.severity == "must"
