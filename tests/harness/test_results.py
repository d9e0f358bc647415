"""Per-requirement results: examples checked and failed, failing classes, the simplest example of each."""

from __future__ import annotations

import dataclasses
import json

from tests_support import DOC_EXAMPLE, unknown_id_exchange

from jobs_conformance.contract import load_contract
from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
from jobs_conformance.oracle import judge
from jobs_conformance.results import MAX_CLASSES_SHOWN, Results

CONTRACT = load_contract()


def _observe(results: Results, exchange: Exchange, test: str = "t") -> None:
    results.observe(exchange, judge(exchange, CONTRACT), test=test)


def _held(job: dict, job_id: str | None = None) -> Exchange:
    job_id = job_id or job["id"]
    return Exchange(
        HttpResponse(200, (("Content-Type", "application/json"),), json.dumps(job).encode()),
        Intent.KNOWN,
        HttpRequest("GET", f"http://127.0.0.1:1/api/v2/jobs/{job_id}"),
        job_id,
    )


def _malformed(raw: str, label: str, status: int = 200) -> Exchange:
    return Exchange(
        HttpResponse(status, (("Content-Type", "text/html"),), b"<html>"),
        Intent.MALFORMED,
        HttpRequest("GET", f"http://127.0.0.1:1/api/v2/jobs/{raw}"),
        raw,
        label=label,
    )


def test_every_requirement_starts_not_checked():
    results = Results(CONTRACT)
    assert [r.requirement.id for r in results.rows()] == [r.id for r in CONTRACT.requirements]
    assert {r.status for r in results.rows()} == {"not-checked"}


def test_an_applicable_requirement_is_checked_and_passes():
    results = Results(CONTRACT)
    _observe(results, unknown_id_exchange(404))
    row = results.requirements["http.unknown-404"]
    assert (row.status, row.checked, row.failed) == ("pass", 1, 0)
    assert results.requirements["body.json"].status == "not-checked"


def test_an_exchange_judged_again_in_one_test_counts_once():
    # Hypothesis replays examples while it shrinks; the run answers a
    # repeated probe with the same exchange.
    results = Results(CONTRACT)
    exchange = unknown_id_exchange(500)
    for _ in range(3):
        _observe(results, exchange)
    row = results.requirements["http.unknown-404"]
    assert (row.checked, row.failed) == (1, 1)
    results.finish_test("t")
    _observe(results, exchange, test="another test")
    assert (row.checked, row.failed) == (2, 2)


def test_twelve_wrong_bodies_of_fifteen_are_twelve_failed_of_fifteen_checked():
    results = Results(CONTRACT)
    for n in range(15):
        job = {**DOC_EXAMPLE, "id": f"3c90c3cc-0d44-4b50-8888-{n:012d}"}
        if n < 12:  # both timestamps wrong: still one failed example
            job.update(createdAt="2023-11-07T05:31:56+00:00", updatedAt="2023-11-07T05:31:56+00:00")
        _observe(results, _held(job))
    row = results.requirements["body.datetime"]
    assert (row.status, row.checked, row.failed) == ("fail", 15, 12)
    assert {c.name: c.count for c in row.classes.values()} == {
        "createdAt: offset": 12,
        "updatedAt: offset": 12,
    }


def test_each_failing_class_keeps_its_simplest_example():
    results = Results(CONTRACT)
    for raw, label in (
        ("{3c90c3cc-0d44-4b50-8888-8dd25736052aaaaa}", "braces"),
        ("{3c90c3cc-0d44-4b50-8888-8dd25736052a}", "braces"),
        ("urn:uuid:3c90c3cc-0d44-4b50-8888-8dd25736052a", "urn-prefix"),
        ("3c90c3cc0d444b5088888dd25736052a", "no-hyphens"),
    ):
        _observe(results, _malformed(raw, label))
    row = results.requirements["http.malformed-4xx"]
    assert (row.failed, len(row.classes)) == (4, 3)
    braces = row.classes["braces"]
    assert braces.count == 2
    assert braces.example.request["url"].endswith("/{3c90c3cc-0d44-4b50-8888-8dd25736052a}")
    assert [c.name for c in row.shown] == ["braces", "no-hyphens", "urn-prefix"]


def test_an_example_that_is_not_the_simplest_still_counts_what_it_broke():
    # Such an example is counted without being built: its count, its test, what it
    # also broke and its weight must still reach the class. The 500 (nothing else
    # broken) is the simplest; the longer 200 also breaks the body's requirements.
    results = Results(CONTRACT)
    _observe(results, _malformed("{3c90c3cc-0d44-4b50-8888-8dd25736052a}", "braces", 500), "a")
    _observe(results, _malformed("{3c90c3cc-0d44-4b50-8888-8dd25736052aaaaa}", "braces"), "b")
    braces = results.requirements["http.malformed-4xx"].classes["braces"]
    assert (braces.count, braces.tests, braces.example.test) == (2, {"a", "b"}, "a")
    assert braces.also_affects == {"body.json", "http.content-type"}


def test_an_example_that_is_not_the_simplest_still_weighs_what_it_affected():
    # Seconds dropped (body.datetime-rfc3339, a should) weigh as a must where a seeded
    # job reads back another instant; the held job's example, with a shorter URL, is kept.
    served = {**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31Z"}
    seeded = Exchange(
        HttpResponse(200, (("Content-Type", "application/json"),), json.dumps(served).encode()),
        Intent.SEEDED,
        HttpRequest("GET", "http://127.0.0.1:12345/api/v2/jobs/" + served["id"]),
        served["id"],
        expected={**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31:56Z"},
    )
    results = Results(CONTRACT)
    _observe(results, _held(served))
    finding = results.requirements["body.datetime-rfc3339"].classes["createdAt: seconds missing"]
    assert finding.severity == "should"
    _observe(results, seeded)
    assert (finding.count, finding.severity) == (2, "must")
    assert finding.also_affects == {"seed.round-trip"}
    assert finding.example.request["url"] == _held(served).request.url


def test_an_example_shown_by_its_evidence_is_as_simple_as_its_evidence():
    # A case variant found where the declared id was not: the example shows the
    # declared id's 404, so the simpler example is the one whose 404 has the shorter URL,
    # however long the variant's is.
    def variant(host: str, variant_host: str) -> Exchange:
        declared = _held(DOC_EXAMPLE)
        missed = dataclasses.replace(
            declared,
            response=HttpResponse(404, (("Content-Type", "application/json"),), b"{}"),
            request=HttpRequest("GET", f"{host}/api/v2/jobs/{DOC_EXAMPLE['id']}"),
        )
        found = _held(DOC_EXAMPLE, DOC_EXAMPLE["id"].upper())
        return dataclasses.replace(
            found,
            intent=Intent.CASE_VARIANT,
            baseline=missed,
            request=HttpRequest("GET", f"{variant_host}/api/v2/jobs/{found.job_id}"),
        )

    results = Results(CONTRACT)
    _observe(results, variant("http://127.0.0.1:12345", "http://127.0.0.1:1"))
    _observe(results, variant("http://127.0.0.1:1", "http://127.0.0.1:123456789"))
    (case,) = results.requirements["http.case-insensitive"].classes.values()
    assert case.count == 2
    assert case.example.request["url"] == f"http://127.0.0.1:1/api/v2/jobs/{DOC_EXAMPLE['id']}"


def test_bodies_captured_without_a_request_are_examples_of_one_class():
    # validate's bodies: no request, so no URL to make one example simpler than another.
    results = Results(CONTRACT)
    for name in ("one", "two", "three"):
        _observe(results, Exchange(HttpResponse(200, (), b"[]"), Intent.CAPTURED), name)
    (top_level,) = results.requirements["body.json"].classes.values()
    assert (top_level.count, top_level.tests, top_level.example.test) == (
        3,
        {"one", "two", "three"},
        "one",
    )


def test_of_two_examples_as_simple_the_first_in_order_is_kept_whatever_came_first():
    first, second = "a test", "b test"
    for order in ((first, second), (second, first)):
        results = Results(CONTRACT)
        for test in order:  # one URL: the same size, so the total order decides
            _observe(results, _malformed("{3c90c3cc-0d44-4b50-8888-8dd25736052a}", "braces"), test)
        braces = results.requirements["http.malformed-4xx"].classes["braces"]
        assert (braces.count, braces.example.test) == (2, first)


def test_consequences_are_not_failed_again_but_named_on_the_finding():
    results = Results(CONTRACT)
    _observe(results, _malformed("{3c90c3cc-0d44-4b50-8888-8dd25736052a}", "braces"))
    assert results.requirements["http.malformed-4xx"].status == "fail"
    finding = results.requirements["http.malformed-4xx"].classes["braces"]
    assert finding.also_affects == {"body.json", "http.content-type"}
    assert results.requirements["body.json"].failed == 0
    assert results.requirements["http.content-type"].failed == 0


def test_only_so_many_classes_are_shown_and_all_are_counted():
    results = Results(CONTRACT)
    for n in range(MAX_CLASSES_SHOWN + 4):
        _observe(results, _malformed(f"x{n}", f"class {n:02d}"))
    row = results.requirements["http.malformed-4xx"]
    assert len(row.classes) == MAX_CLASSES_SHOWN + 4
    assert len(row.shown) == MAX_CLASSES_SHOWN


def test_failing_honours_strict_for_should_requirements():
    results = Results(CONTRACT)
    _observe(results, _held({**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31Z"}))
    assert results.failing(strict=False) == []
    assert [r.requirement.id for r in results.failing(strict=True)] == ["body.datetime-rfc3339"]


def test_a_should_level_finding_that_affects_a_must_level_requirement_fails_the_run():
    # A seeded job served without seconds reads back another instant: the
    # finding is RFC 3339's (should), and it weighs what it affects (must).
    stored = {**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31:56Z"}
    served = json.dumps({**stored, "createdAt": "2023-11-07T05:31Z"}).encode()
    seeded = Exchange(
        HttpResponse(200, (("Content-Type", "application/json"),), served),
        Intent.SEEDED,
        HttpRequest("GET", "http://127.0.0.1:1/api/v2/jobs/" + stored["id"]),
        stored["id"],
        expected=stored,
    )
    results = Results(CONTRACT)
    _observe(results, seeded)
    rfc3339, seed = (
        results.requirements["body.datetime-rfc3339"],
        results.requirements["seed.round-trip"],
    )
    assert (rfc3339.status, seed.status) == ("fail", "affected")
    assert seed.affected_by == {"body.datetime-rfc3339"}
    assert [r.requirement.id for r in results.failing(strict=False)] == ["body.datetime-rfc3339"]


def test_to_data_and_merge_add_up():
    one, two, total = Results(CONTRACT), Results(CONTRACT), Results(CONTRACT)
    _observe(one, unknown_id_exchange(404))
    _observe(one, _malformed("{x}", "braces"))
    _observe(two, unknown_id_exchange(500))
    _observe(two, _malformed("{xx}", "braces"))
    _observe(two, _malformed("[x]", "brackets"))
    one.error("worker 1: timeout")
    total.merge(one.to_data())
    total.merge(two.to_data())
    unknown = total.requirements["http.unknown-404"]
    assert (unknown.checked, unknown.failed, len(unknown.classes)) == (2, 1, 1)
    malformed = total.requirements["http.malformed-4xx"]
    assert (malformed.failed, {c.name: c.count for c in malformed.classes.values()}) == (
        3,
        {"braces": 2, "brackets": 1},
    )
    assert malformed.classes["braces"].example.request["url"].endswith("/{x}")
    assert total.errors == ["worker 1: timeout"]


def test_an_exchange_observed_once_is_counted_and_not_held():
    # observe and audit judge each exchange once: nothing to de-duplicate, so nothing
    # is kept until the test ends.
    import gc
    import weakref

    results = Results(CONTRACT)
    exchange = unknown_id_exchange(500)
    alive = weakref.ref(exchange)
    for _ in range(2):
        results.observe(exchange, judge(exchange, CONTRACT), test="t", once=True)
    row = results.requirements["http.unknown-404"]
    assert (row.checked, row.failed) == (2, 2)
    del exchange
    gc.collect()
    # The failing class keeps its example as plain data, not the exchange.
    assert alive() is None
