"""observe: recorded exchanges judged by the run's oracle, with what the traffic could show."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import jsonschema
import pytest
from tests_support import DOC_EXAMPLE, UNHELD, failed, recorded_exchange, usage_error

from jobs_conformance.cli import main as cli
from jobs_conformance.contract import default_spec_dir
from jobs_conformance.errors import UsageError
from jobs_conformance.merge import judged
from jobs_conformance.observe import observe

DOC_ID = DOC_EXAMPLE["id"]


TRAFFIC = [
    recorded_exchange(
        f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31:56+00:00"}
    ),
    recorded_exchange(f"/jobs/%7B{DOC_ID}%7D", 200, DOC_EXAMPLE),  # braces accepted
    recorded_exchange(f"/jobs/{DOC_ID.upper()}", 404, {"error": "not found"}),  # case-sensitive
    recorded_exchange("/jobs/00000000-0000-4000-8000-000000000001", 500, "oops"),
    recorded_exchange("/health", 200, "ok"),
    {**recorded_exchange(f"/jobs/{DOC_ID}", 200), "method": "DELETE"},
]


def _write(path, exchanges, *, compress: bool = False) -> str:
    text = "".join(json.dumps(e) + "\n" for e in exchanges).encode()
    path.write_bytes(gzip.compress(text) if compress else text)
    return str(path)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_recorded_traffic_is_judged_by_the_runs_oracle(tmp_path, compress):
    source = _write(tmp_path / "traffic.ndjson", TRAFFIC, compress=compress)
    code, report = observe([source], report_dir=tmp_path / "r")
    assert code == 1
    assert failed(report) == {
        "body.datetime",
        "http.malformed-4xx",
        "http.case-insensitive",
        "http.unknown-404",
    }
    coverage = report["coverage"]
    assert coverage["exchanges"] == 4
    assert coverage["skipped"] == {"another endpoint": 1, "method DELETE": 1}
    # What the traffic could not show is not-checked, never pass.
    for requirement in ("auth.required", "seed.round-trip", "http.status-known", "http.idempotent"):
        assert requirement in coverage["never_exercised"]
    assert (tmp_path / "r" / "conformance.md").is_file()
    schema = json.loads((default_spec_dir() / "conformance.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    recorded = json.loads((default_spec_dir() / "observed-exchange.schema.json").read_text())
    for exchange in TRAFFIC:
        jsonschema.Draft202012Validator(recorded).validate(exchange)


def test_bodies_absent_leave_body_requirements_not_checked(tmp_path):
    logged = [{**e, "body": None} for e in TRAFFIC[:4]]
    code, report = observe([_write(tmp_path / "log.ndjson", logged)], report_dir=tmp_path / "r")
    assert code == 1  # the 500, the braces' 200 and the two cases' outcomes show without bodies
    rows = {r["id"]: r for r in report["requirements"]}
    assert all(rows[r]["status"] == "not-checked" for r in rows if r.startswith("body."))
    assert all(r in report["coverage"]["never_exercised"] for r in rows if r.startswith("body."))
    assert rows["body.json"]["reason"] == "no 200 body was recorded in full"
    assert failed(report) == {"http.malformed-4xx", "http.unknown-404", "http.case-insensitive"}


def _without_headers(exchange: dict) -> dict:
    return {k: v for k, v in exchange.items() if k != "headers"}


_OTHER_CASE = {**DOC_EXAMPLE, "name": "read again"}
# (description, the traffic, http.content-type's status): headers not recorded say nothing
# of the header, as bodies not recorded say nothing of the body; headers recorded empty
# say the answer had none.
HEADER_CASES = [
    (
        "not recorded",
        [_without_headers(recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE))],
        "not-checked",
    ),
    ("null", [recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE, headers=None)], "not-checked"),
    (
        "recorded, none sent",
        [recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE, headers={})],
        "fail",
    ),
    ("recorded, JSON", [recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE)], "pass"),
    (
        "recorded without the body: the header is still judged",
        [recorded_exchange(f"/jobs/{DOC_ID}", 200, headers={"Content-Type": "text/html"})],
        "fail",
    ),
    (
        "a read in another case, compared with the first once all are read",
        [
            _without_headers(recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE)),
            _without_headers(recorded_exchange(f"/jobs/{DOC_ID.upper()}", 200, _OTHER_CASE)),
        ],
        "not-checked",
    ),
    (
        "an access log writing a header a field ($sent_http_content_type)",
        [
            {
                "request_uri": f"/api/v2/jobs/{DOC_ID}",
                "status": 200,
                "sent_http_content_type": "text/html",
            }
        ],
        "fail",
    ),
    (
        "an access log keeping headers, but not Content-Type (not kept, or not sent?)",
        [{"request_uri": f"/api/v2/jobs/{DOC_ID}", "status": 200, "sent_http_x_request_id": "r"}],
        "not-checked",
    ),
]


@pytest.mark.parametrize(
    ("traffic", "expected"), [pytest.param(t, e, id=d) for d, t, e in HEADER_CASES]
)
def test_the_content_type_is_judged_only_where_headers_were_recorded(tmp_path, traffic, expected):
    _, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    rows = {r["id"]: r for r in report["requirements"]}
    assert rows["http.content-type"]["status"] == expected, rows["http.content-type"]
    if expected == "not-checked":
        assert (
            rows["http.content-type"]["reason"] == "no 200 was recorded with its response headers"
        )
    # The body, where one was recorded, is judged whatever became of the headers.
    assert rows["body.json"]["status"] == (
        "not-checked" if traffic[0].get("body") is None else "pass"
    )


def test_the_same_job_read_twice_with_one_updated_at_and_two_bodies_is_not_idempotent(tmp_path):
    first = recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE)
    second = recorded_exchange(f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "name": "changed"})
    code, report = observe(
        [_write(tmp_path / "t.ndjson", [first, second])], report_dir=tmp_path / "r"
    )
    assert code == 1 and failed(report) == {"http.idempotent"}


def test_a_har_export_and_a_gateway_prefix(tmp_path):
    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": f"https://gw.example/jobs-api/api/v2/jobs/{DOC_ID}%0A",
                        "headers": [{"name": "Authorization", "value": "Bearer s3cret-token-x"}],
                    },
                    "response": {
                        "status": 200,
                        "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "content": {"text": json.dumps(DOC_EXAMPLE)},
                    },
                },
                {
                    "request": {
                        "method": "GET",
                        "url": "https://gw.example/other/jobs/x",
                        "headers": [],
                    },
                    "response": {"status": 404, "headers": [], "content": {}},
                },
            ],
        }
    }
    source = tmp_path / "export.har"
    source.write_text(json.dumps(har))
    code, report = observe([str(source)], path_prefix="/jobs-api/api/v2", report_dir=tmp_path / "r")
    # A trailing newline is a near miss the service answered 200.
    assert code == 1 and failed(report) == {"http.malformed-4xx"}
    assert report["coverage"]["skipped"] == {
        "another endpoint than /jobs-api/api/v2/jobs/{jobId}": 1
    }
    # Recorded credentials never reach the reports.
    for path in (tmp_path / "r").iterdir():
        assert "s3cret-token-x" not in path.read_text(errors="replace")


def test_the_command_reads_stdin(tmp_path, monkeypatch, capsys):
    import io
    import sys

    data = "".join(json.dumps(e) + "\n" for e in TRAFFIC[:1]).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    assert cli(["observe", "-", "--report-dir", str(tmp_path / "r")]) == 1
    assert "body.datetime" in capsys.readouterr().out
    assert "K/N" in usage_error("observe", "--shard", "3/2", "-")
    assert "invalid choice" in usage_error("observe", "--format", "xml", "-")


def test_a_schemathesis_cassette_and_an_access_log(tmp_path):
    import yaml

    cassette = {
        "command": "st run spec/openapi.yaml --report vcr",
        "recorded_with": "Schemathesis",
        "http_interactions": [
            {
                "id": "1",
                "request": {
                    "uri": f"http://127.0.0.1:8080/api/v2/jobs/urn:uuid:{DOC_ID}",
                    "method": "GET",
                    "headers": {"User-Agent": ["schemathesis"]},
                },
                "response": {
                    "status": {"code": "200", "message": "OK"},
                    "headers": {"Content-Type": ["application/json"]},
                    "body": {"encoding": "utf-8", "string": json.dumps(DOC_EXAMPLE)},
                },
            }
        ],
    }
    vcr = tmp_path / "cassette.yaml"
    vcr.write_text(yaml.safe_dump(cassette))
    code, report = observe([str(vcr)], report_dir=tmp_path / "vcr")
    assert code == 1 and failed(report) == {"http.malformed-4xx"}
    # An access log: the request line and the status, no body.
    log = tmp_path / "access.log.jsonl"
    log.write_text(
        json.dumps({"request": f"GET /api/v2/jobs/{DOC_ID} HTTP/1.1", "status": 503}) + "\n"
    )
    code, report = observe([str(log)], report_dir=tmp_path / "log")
    assert code == 1 and failed(report) == {"http.unknown-404"}


def test_json_access_logs_of_common_servers_are_judged(tmp_path):
    path = f"/api/v2/jobs/{DOC_ID}"
    log = [
        # nginx: a DELETE, whatever its $uri says; skipped as other methods are.
        {
            "request": f"DELETE {path} HTTP/1.1",
            "request_method": "DELETE",
            "uri": path,
            "status": "204",
        },
        # Caddy: its response headers are recorded, and judged.
        {
            "request": {"method": "GET", "uri": path, "headers": {}},
            "status": 200,
            "resp_headers": {"Content-Type": ["text/html"]},
        },
        # Traefik: a well-formed id answered 500 by the gateway.
        {"RequestMethod": "GET", "RequestPath": f"/api/v2/jobs/{UNHELD}", "DownstreamStatus": 500},
        {"method": "GET", "path": path, "response_code": 404},  # Envoy, Istio
        {"httpRequest": {"requestMethod": "GET", "requestUrl": f"https://h{path}", "status": 200}},
        # nginx, a connection that sent no request line (or TLS to a plain port): its request
        # fields written empty, answered 400 or 408. Every day's log has some.
        {"request": "", "request_method": "", "request_uri": "", "status": "400"},
        {"request": "\u0016\u0003\u0001\u0002", "request_uri": "", "status": 400},
        {"method": None, "path": None, "response_code": 408},  # Envoy's null
        {"request": "", "status": 400},  # the common format's $request alone
    ]
    code, report = observe([_write(tmp_path / "access.ndjson", log)], report_dir=tmp_path / "r")
    coverage = report["coverage"]
    assert coverage["unreadable"] == 0 and coverage["exchanges"] == 4
    no_request = "no request recorded (a connection that sent none: nginx's 400, 408)"
    assert coverage["skipped"] == {"method DELETE": 1, no_request: 4}
    assert code == 1 and failed(report) == {"http.content-type", "http.unknown-404"}


def _har(exchanges: list[dict]) -> str:
    """A HAR 1.2 document of NDJSON-style exchanges, pretty-printed as browsers export it."""
    entries = [
        {
            "request": {"method": e["method"], "url": e["url"], "headers": []},
            "response": {
                "status": e["status"],
                "headers": [{"name": k, "value": v} for k, v in e["headers"].items()],
                "content": {} if e["body"] is None else {"text": e["body"]},
            },
        }
        for e in exchanges
    ]
    return json.dumps({"log": {"version": "1.2", "entries": entries, "pages": []}}, indent=2)


def test_bad_inputs_are_named_with_file_and_line_and_every_other_record_is_judged(tmp_path, capsys):
    # TRAFFIC[0] holds the body.datetime fault, TRAFFIC[3] the 500: both must still be found.
    lines = [json.dumps(e) for e in TRAFFIC[:3]]
    ndjson = tmp_path / "broken.ndjson"
    ndjson.write_text("\n".join([lines[0], '{"method": "GET", "url": ', *lines[1:]]) + "\n")
    full = _har(TRAFFIC[:4])
    cut = full[: full.index('"url": "https://gateway.example/api/v2/jobs/00000000')]
    har = tmp_path / "cut.har"
    har.write_text(cut)  # the last entry cut short: the first three are still read
    odd = tmp_path / "odd.xml"
    odd.write_text("<log><entry/></log>\n")
    missing = tmp_path / "missing.ndjson"
    sources = [str(ndjson), str(har), str(odd), str(missing)]
    code = cli(["observe", *sources, "--report-dir", str(tmp_path / "r")])
    report = json.loads((tmp_path / "r" / "conformance.json").read_text())
    assert code == 2 and report["verdict"] == "incomplete"
    errors = "\n".join(report["errors"])
    assert f"{ndjson}:2: not an exchange" in errors
    har_line = cut[: cut.rindex('"request"')].count("\n")  # where the cut entry begins
    assert f"{har}:{har_line}: not a complete HAR 1.2 document" in errors
    assert f"{odd}:1: unknown format" in errors
    assert f"{missing}: cannot read" in errors
    assert report["coverage"]["unreadable"] == 4
    # Everything readable was judged: 3 NDJSON lines, 3 HAR entries.
    assert report["coverage"]["exchanges"] == 6
    assert failed(report) >= {"body.datetime", "http.malformed-4xx", "http.case-insensitive"}
    assert "Traceback" not in capsys.readouterr().err


def test_a_cassette_cut_short_keeps_the_interactions_before_the_cut(tmp_path):
    import yaml

    interactions = [
        {
            "id": str(n),
            "request": {"uri": f"http://h/api/v2/jobs/{job_id}", "method": "GET", "headers": {}},
            "response": {
                "status": {"code": str(status), "message": ""},
                "headers": {"Content-Type": ["application/json"]},
                "body": {"encoding": "utf-8", "string": ""},
            },
        }
        for n, (job_id, status) in enumerate([("not-a-uuid", 200), (DOC_ID, 500), (DOC_ID, 404)])
    ]
    text = yaml.safe_dump({"command": "st run", "http_interactions": interactions})
    cassette = tmp_path / "cut.yaml"
    cassette.write_text(text[: text.rindex("status:")] + "status: {code: '4")
    code, report = observe([str(cassette)], report_dir=tmp_path / "r")
    assert code == 2
    assert report["coverage"]["exchanges"] == 2
    assert failed(report) == {"http.malformed-4xx", "http.unknown-404"}
    (error,) = report["errors"]
    assert error.startswith(f"{cassette}:") and "not an interaction" in error


def test_shards_merge_to_the_report_of_one_process_in_any_order(tmp_path):
    import itertools

    from jobs_conformance.merge import merge_records
    from jobs_conformance.shards import Shard

    # Many jobs, each read in several ways, so every shard holds some of every kind.
    traffic = []
    for n in range(60):
        job_id = f"{n:08x}-0000-4000-8000-000000000000"
        job = {**DOC_EXAMPLE, "id": job_id}
        traffic += [
            recorded_exchange(
                f"/jobs/{job_id}",
                200,
                job if n % 3 else {**job, "createdAt": "2023-02-29T00:00:00Z"},
            ),
            recorded_exchange(f"/jobs/{job_id.upper()}", 404 if n % 4 == 0 else 200, job),
            recorded_exchange(
                f"/jobs/{job_id}", 200, {**job, "name": "again"} if n % 5 == 0 else job
            ),
            recorded_exchange(f"/jobs/{{{job_id}}}", 200 if n % 7 == 0 else 400, {"error": "bad"}),
            recorded_exchange(f"/other/{n}", 200, "x"),
        ]
    source = _write(tmp_path / "t.ndjson", [*traffic, {"broken": True}])
    _, whole = observe([source], report_dir=tmp_path / "whole")
    parts = [
        observe([source], report_dir=tmp_path / f"p{k}", shard=Shard(k, 3))[1] for k in (1, 2, 3)
    ]
    assert all(p["coverage"]["exchanges"] < whole["coverage"]["exchanges"] for p in parts)
    assert whole["verdict"] == "incomplete" and whole["findings"]
    for order in itertools.permutations(parts):
        assert judged(merge_records(list(order))) == judged(whole)
    # Associative: a merged pair merges with the third as the three do.
    pair = merge_records([parts[0], parts[2]])
    assert judged(merge_records([parts[1], pair])) == judged(whole)
    assert merge_records(parts)["partial"]["parts"] == [f"1/1|{source}"]


def test_merge_refuses_what_would_count_twice_and_records_that_do_not_merge(tmp_path):
    from jobs_conformance.merge import merge_records
    from jobs_conformance.shards import Shard

    source = _write(tmp_path / "t.ndjson", TRAFFIC)
    half = observe([source], report_dir=tmp_path / "a", shard=Shard(1, 2))[1]
    whole = observe([source], report_dir=tmp_path / "b")[1]
    with pytest.raises(UsageError, match="in two"):
        merge_records([half, half])
    with pytest.raises(UsageError, match="in two"):
        merge_records([half, whole])
    run_like = {k: v for k, v in whole.items() if k != "partial"}
    with pytest.raises(UsageError, match="does not merge"):
        merge_records([run_like])
    # Reports of two different recordings merge: each is a part of the traffic.
    other = _write(tmp_path / "u.ndjson", TRAFFIC[:2])
    both = merge_records([whole, observe([other], report_dir=tmp_path / "c")[1]])
    assert both["coverage"]["exchanges"] == whole["coverage"]["exchanges"] + 2


def test_a_job_read_again_far_later_is_compared_with_its_earlier_reads(tmp_path):
    from jobs_conformance.observe import JobReads

    # Far enough apart that the first read is looked up on disk, not in the batch.
    filler = [
        recorded_exchange(f"/jobs/{n:08x}-0000-4000-8000-000000000000", 404, {"error": "nf"})
        for n in range(3 * JobReads.BATCH)
    ]
    traffic = [
        recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE),
        *filler,
        recorded_exchange(f"/jobs/{DOC_ID.upper()}", 404, {"error": "nf"}),
        recorded_exchange(f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "name": "another"}),
    ]
    _, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    assert failed(report) == {"http.case-insensitive", "http.idempotent"}
    rows = {r["id"]: r for r in report["requirements"]}
    (case,) = rows["http.case-insensitive"]["counterexamples"]
    assert "was answered 404" in case["message"] and DOC_ID in case["message"]
    (repeat,) = rows["http.idempotent"]["counterexamples"]
    assert "name" in repeat["message"]


def test_a_first_read_compared_later_is_shown_as_it_was_recorded(tmp_path):
    # The first reads come back from the scratch file: a 404 in upper case, then the
    # job served in lower case (the example shows the 404); another job read again at
    # another URL, with the same updatedAt and another body.
    missed = recorded_exchange(
        f"/jobs/{DOC_ID.upper()}",
        404,
        {"error": "nf"},
        host="https://first.example/v2",
        headers={"Content-Type": "application/problem+json", "X-Trace": "t-1"},
        request_headers={"Accept": "application/json"},
    )
    traffic = [
        missed,
        recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE),
        recorded_exchange(f"/jobs/{UNHELD}", 200, {**DOC_EXAMPLE, "id": UNHELD}),
        recorded_exchange(
            f"/jobs/{UNHELD}?fields=all", 200, {**DOC_EXAMPLE, "id": UNHELD, "name": "x"}
        ),
    ]
    _, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    assert failed(report) == {"http.case-insensitive", "http.idempotent"}
    rows = {r["id"]: r for r in report["requirements"]}
    (case,) = rows["http.case-insensitive"]["counterexamples"]
    assert case["request"] == {
        "method": "GET",
        "url": missed["url"],
        "headers": {"Accept": "application/json"},
    }
    assert (case["response"]["status"], case["response"]["headers"]) == (404, missed["headers"])
    assert case["response"]["body_excerpt"] == missed["body"]
    (repeat,) = rows["http.idempotent"]["counterexamples"]
    assert repeat["request"]["url"].endswith("?fields=all")


def test_what_a_database_column_would_refuse_is_still_judged(tmp_path):
    # The scratch file holds a read as marshalled values: a lone surrogate in a URL or
    # in updatedAt is read like any other; a status past 64 bits is no HTTP status at all.
    job = f"/jobs/{DOC_ID}"
    traffic = [
        recorded_exchange(job + "?q=\ud800", 200, DOC_EXAMPLE),
        recorded_exchange(job, 200, {**DOC_EXAMPLE, "updatedAt": "\ud800"}),
        recorded_exchange(job, 599, {"error": "?"}),
        recorded_exchange(job, 10**20, {"error": "?"}),
    ]
    code, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    assert code == 2 and report["coverage"]["exchanges"] == 3
    assert report["coverage"]["unreadable"] == 1
    assert {"body.datetime", "http.unknown-404"} <= failed(report)


def test_two_reads_of_one_job_in_two_inputs_are_compared_under_the_later_input(tmp_path):
    # The first reads are those of every input before: a job read in a.ndjson and again
    # in b.ndjson (another body, the same updatedAt; and in another case, not found).
    first = _write(tmp_path / "a.ndjson", [recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE)])
    later = _write(
        tmp_path / "b.ndjson",
        [
            recorded_exchange(f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "name": "another"}),
            recorded_exchange(f"/jobs/{DOC_ID.upper()}", 404, {"error": "nf"}),
        ],
    )
    _, report = observe([first, later], report_dir=tmp_path / "r")
    assert failed(report) == {"http.case-insensitive", "http.idempotent"}
    rows = {r["id"]: r for r in report["requirements"]}
    for requirement in ("http.case-insensitive", "http.idempotent"):
        assert rows[requirement]["checked"] == 1
        (example,) = rows[requirement]["counterexamples"]
        assert example["test"] == f"observe::{later}"
    # Neither input alone holds the repeat.
    for name, part in (("a", first), ("b", later)):
        assert "http.idempotent" not in failed(observe([part], report_dir=tmp_path / name)[1])


def test_waivers_apply_to_observed_findings_and_to_merged_shards_alike(tmp_path, monkeypatch):
    from jobs_conformance.cli import main as cli
    from jobs_conformance.merge import merge_records

    monkeypatch.chdir(tmp_path)  # no conformance-waivers.toml of the working directory
    source = _write(tmp_path / "t.ndjson", TRAFFIC[:1])  # one finding: a +00:00 offset
    assert cli(["observe", source, "--report-dir", "plain"]) == 1
    (finding,) = json.loads((tmp_path / "plain" / "conformance.json").read_text())["findings"]
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        f'[[waiver]]\nfinding = "{finding["id"]}"\nreason = "migrated rows"\nexpires = 2999-01-01\n'
    )
    assert cli(["observe", source, "--waivers", str(waivers), "--report-dir", "waived"]) == 0
    waived = json.loads((tmp_path / "waived" / "conformance.json").read_text())
    assert [f["status"] for f in waived["findings"]] == ["waived"]
    assert waived["waivers"]["file"] == str(waivers)
    parts, codes = [], []
    for k in (1, 2):
        code = cli(
            [
                "observe",
                source,
                "--waivers",
                str(waivers),
                "--shard",
                f"{k}/2",
                "--report-dir",
                f"p{k}",
            ]
        )
        codes.append(code)
        parts.append(json.loads((tmp_path / f"p{k}" / "conformance.json").read_text()))
    # The shard that holds the exchange passes (its one finding waived); the other judged
    # nothing, so it has no verdict.
    assert sorted(codes) == [0, 2]
    merged = merge_records(parts)
    assert merged["verdict"] == "pass"
    assert [f["status"] for f in merged["findings"]] == ["waived"]
    # A part judged under another gate does not merge with these.
    other_code = cli(["observe", source, "--shard", "2/2", "--report-dir", "other"])
    assert other_code == (1 if codes[1] == 0 else 2)  # unwaived, the finding fails its shard
    other = json.loads((tmp_path / "other" / "conformance.json").read_text())
    with pytest.raises(UsageError, match="one gate"):
        merge_records([parts[0], other])


def test_a_shard_alone_finds_no_waiver_stale_the_merge_does(tmp_path, monkeypatch):
    from jobs_conformance.merge import merge_records
    from jobs_conformance.shards import Shard

    monkeypatch.chdir(tmp_path)  # no conformance-waivers.toml of the working directory
    # A job of each shard, both read: shard 1's body breaks body.datetime, shard 2's does not.
    ids = (f"{n:08x}-0000-4000-8000-000000000000" for n in range(100))
    first = next(i for i in ids if Shard(1, 2).holds(i))
    second = next(i for i in ids if Shard(2, 2).holds(i))
    offset = {**DOC_EXAMPLE, "id": first, "createdAt": "2023-11-07T05:31:56+00:00"}
    traffic = [
        recorded_exchange(f"/jobs/{first}", 200, offset),
        recorded_exchange(f"/jobs/{second}", 200, {**DOC_EXAMPLE, "id": second}),
    ]
    source = _write(tmp_path / "t.ndjson", traffic)
    _, whole = observe([source], report_dir=tmp_path / "whole")
    (finding,) = whole["findings"]
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        f'[[waiver]]\nfinding = "{finding["id"]}"\nreason = "migrated"\nexpires = 2999-01-01\n'
    )
    gate = ["--waivers", str(waivers), "--strict-waivers"]
    parts = []
    for k in (1, 2):
        out = tmp_path / f"p{k}"
        # Shard 2 checked body.datetime and saw no such finding: its part alone cannot
        # tell the waiver stale, which under --strict-waivers failed a fan-out's job.
        assert cli(["observe", source, "--shard", f"{k}/2", *gate, "--report-dir", str(out)]) == 0
        parts.append(json.loads((out / "conformance.json").read_text()))
        assert parts[-1]["waivers"]["stale"] == []
    assert merge_records(parts)["verdict"] == "pass"
    # The merge of every part judges staleness as one process does: unmatched, it is stale.
    waivers.write_text(waivers.read_text().replace(finding["id"], finding["id"][:-4] + "0000"))
    assert cli(["observe", source, *gate, "--report-dir", str(tmp_path / "one")]) == 1
    for k in (1, 2):
        cli(
            ["observe", source, "--shard", f"{k}/2", *gate, "--report-dir", str(tmp_path / f"q{k}")]
        )
    merged = merge_records(
        [json.loads((tmp_path / f"q{k}" / "conformance.json").read_text()) for k in (1, 2)]
    )
    assert merged["verdict"] == "fail" and len(merged["waivers"]["stale"]) == 1


def _scratch_of(max_pages: int):
    """``sqlite3.connect`` for the scratch file, the file capped at ``max_pages`` pages:
    a disk that fills up, as SQLite meets one (``database or disk is full``)."""
    import sqlite3

    real = sqlite3.connect

    def connect(*args, **kwargs):
        db = real(*args, **kwargs)
        db.execute(f"PRAGMA max_page_count={max_pages}")
        return db

    return connect


def test_a_scratch_file_that_fills_up_leaves_every_other_finding_and_no_verdict(
    tmp_path, monkeypatch, capsys
):
    from jobs_conformance import observe as module
    from jobs_conformance.observe import JobReads

    # Three 64 KiB pages hold fewer reads than one batch: the first write fails.
    monkeypatch.setattr(module.sqlite3, "connect", _scratch_of(3))
    monkeypatch.setattr(module.tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    filler = [
        recorded_exchange(f"/jobs/{n:08x}-0000-4000-8000-000000000000", 200, DOC_EXAMPLE)
        for n in range(JobReads.BATCH)
    ]
    traffic = [
        recorded_exchange(
            f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31:56+00:00"}
        ),
        *filler,
        recorded_exchange("/jobs/not-a-uuid", 200, DOC_EXAMPLE),
        recorded_exchange(f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "name": "another"}),
    ]
    code = cli(
        ["observe", _write(tmp_path / "t.ndjson", traffic), "--report-dir", str(tmp_path / "r")]
    )
    report = json.loads((tmp_path / "r" / "conformance.json").read_text())
    assert code == 2 and report["verdict"] == "incomplete"
    # Every exchange judged by itself: the offset, the body served for a malformed id
    # (whose echo of another id is folded into it).
    assert report["coverage"]["exchanges"] == len(traffic)
    assert {"body.datetime", "http.malformed-4xx"} <= failed(report)
    # The repeat with another body was not compared, and the record says so.
    assert "http.idempotent" not in failed(report)
    assert report["coverage"]["uncompared"] == len(traffic) - 1  # every well-formed read
    (error,) = report["errors"]
    assert "database or disk is full" in error and str(tmp_path / "scratch") in error
    assert any("not all compared" in note for note in report["notes"])
    assert "Traceback" not in capsys.readouterr().err
    assert list((tmp_path / "scratch").iterdir()) == []  # the scratch file is gone


def test_comparisons_made_before_the_scratch_file_fails_stand(tmp_path, monkeypatch):
    import sqlite3

    from jobs_conformance.observe import JobReads

    compared = JobReads._compared

    def fails_after_one(self, db):
        iterator = compared(self, db)
        yield next(iterator)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(JobReads, "_compared", fails_after_one)
    other = UNHELD
    traffic = [
        recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE),
        recorded_exchange(f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "name": "another"}),
        recorded_exchange(f"/jobs/{other}", 404, {"error": "nf"}),
        recorded_exchange(f"/jobs/{other.upper()}", 200, {**DOC_EXAMPLE, "id": other}),
    ]
    code, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    # The first job's repeat was compared before the failure; the second job's cases not.
    assert code == 2 and report["verdict"] == "incomplete"
    assert failed(report) == {"http.idempotent"}
    assert report["coverage"]["uncompared"] == 4
    assert "disk I/O error" in "\n".join(report["errors"])


def test_parts_merge_their_uncompared_reads_and_older_parts_had_none():
    from jobs_conformance.observe import merge_extra

    part = {"exchanges": 3, "skipped": {"another endpoint": 1}, "unreadable": 0}
    merged = merge_extra({**part, "uncompared": 2, "stopped": 1}, part)
    assert merged == {
        "exchanges": 6,
        "skipped": {"another endpoint": 2},
        "unreadable": 0,
        "uncompared": 2,
        "stopped": 1,
    }


def test_a_read_noted_for_comparison_is_not_held_in_memory():
    # What is held until a batch is written is the read's row, not the exchange and
    # its parsed body (which the garbage collector would walk until then).
    import gc
    import weakref

    from jobs_conformance.exchange import Exchange, HttpRequest, HttpResponse, Intent
    from jobs_conformance.observe import JobReads

    exchange = Exchange(
        HttpResponse(
            200, (("Content-Type", "application/json"),), json.dumps(DOC_EXAMPLE).encode()
        ),
        Intent.MAYBE_HELD,
        HttpRequest("GET", f"https://gateway.example/api/v2/jobs/{DOC_ID}"),
        DOC_ID,
    )
    assert exchange.job is not None  # parsed, as a judged exchange is
    alive = weakref.ref(exchange)
    with JobReads() as reads:
        reads.add(exchange, "t")
        del exchange
        gc.collect()
        assert alive() is None and reads.noted == 1


def test_lone_surrogates_reach_every_report_and_a_request_without_answer_is_skipped(
    tmp_path, capsys
):
    # Recorded traffic is text JSON escapes may make anything of: every report is still
    # written (the surrogate shown as its escape), and the finding keeps its id.
    other = UNHELD
    traffic = [
        recorded_exchange(f"/jobs/\ud800{DOC_ID}", 200, DOC_EXAMPLE),
        {**recorded_exchange(f"/jobs/{other}", 500, "x"), "headers": {"X-\udc00": "\ud800"}},
        recorded_exchange(f"/jobs/{DOC_ID}", 0),  # a browser's entry for a failed request
    ]
    report_dir = tmp_path / "r"
    code = cli(["observe", _write(tmp_path / "t.ndjson", traffic), "--report-dir", str(report_dir)])
    assert code == 1
    names = {p.name for p in report_dir.iterdir()}
    assert {"conformance.json", "conformance.md", "conformance.html", "junit.xml"} <= names
    assert "\\ud800" in (report_dir / "conformance.md").read_text()
    report = json.loads((report_dir / "conformance.json").read_text())
    assert failed(report) == {"http.malformed-4xx", "http.unknown-404"}
    assert report["coverage"]["skipped"] == {"no answer recorded: status 0": 1}
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "\\ud800" in out.out


def test_a_cassettes_interaction_without_a_response_is_skipped_not_unreadable(tmp_path):
    # As schemathesis's cassette writer puts a request that got no answer (a network
    # error, a timeout): `response: null`, after an interaction that was answered.
    request = (
        "  request:\n    uri: 'http://h/api/v2/jobs/{}'\n    method: 'GET'\n    headers: {{}}\n"
    )
    cassette = tmp_path / "cassette.yaml"
    cassette.write_text(
        "http_interactions:\n"
        f"- id: 'a'\n{request.format(DOC_ID)}"
        "  response:\n    status:\n      code: '200'\n    headers:\n"
        '      "content-type":\n      - "application/json"\n'
        f"    body:\n      encoding: 'utf-8'\n      string: {json.dumps(json.dumps(DOC_EXAMPLE))}\n"
        f"- id: 'b'\n{request.format(UNHELD)}"
        "  response: null\n"
    )
    code, report = observe([str(cassette)], report_dir=tmp_path / "r")
    coverage = report["coverage"]
    assert coverage["unreadable"] == 0 and report["errors"] == []
    assert coverage["exchanges"] == 1
    assert coverage["skipped"] == {"no answer recorded: status 0": 1}
    assert code == 0


def test_a_report_folder_that_cannot_be_one_is_refused_before_any_work(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    traffic = _write(tmp_path / "t.ndjson", TRAFFIC)
    assert cli(["observe", traffic, "--report-dir", str(taken)]) == 4
    err = capsys.readouterr().err
    assert "--report-dir" in err and str(taken) in err and "Traceback" not in err


def test_reports_that_cannot_be_written_leave_the_verdict_shown_and_no_stale_record(
    tmp_path, monkeypatch, capsys
):
    from jobs_conformance import report as report_module

    report_dir = tmp_path / "r"
    traffic = _write(tmp_path / "t.ndjson", TRAFFIC)
    assert cli(["observe", traffic, "--report-dir", str(report_dir)]) == 1  # a first run's
    written = report_module.write_atomic

    def disk_full(path, data):
        if path.name == "conformance.md":
            raise OSError(28, "No space left on device")
        written(path, data)

    monkeypatch.setattr(report_module, "write_atomic", disk_full)
    monkeypatch.setattr("jobs_conformance.render.write_atomic", disk_full)
    capsys.readouterr()
    # The verdict was reached, but no gate reading the folder gets it: no verdict.
    assert cli(["observe", traffic, "--report-dir", str(report_dir)]) == 2
    out = capsys.readouterr()
    assert "the reports could not be written" in out.out and "No space left" in out.out
    assert "body.datetime" in out.out  # the table is still shown
    assert list(report_dir.iterdir()) == []  # the first run's verdict is not left to be read
    assert "Traceback" not in out.err


def test_closed_standard_streams_are_named_not_raised(tmp_path):
    # A CI step can start a tool with stdin or stdout closed (<&-, >&-).
    import os
    import subprocess
    import sys

    traffic = _write(tmp_path / "t.ndjson", TRAFFIC)
    command = [sys.executable, "-m", "jobs_conformance.cli", "observe"]

    def closed(fd):
        return lambda: os.close(fd)

    no_stdin = subprocess.run(
        [*command, "-", "--report-dir", str(tmp_path / "a")],
        preexec_fn=closed(0),
        capture_output=True,
        text=True,
    )
    assert no_stdin.returncode == 2, no_stdin.stderr
    assert "standard input is closed" in no_stdin.stdout and "Traceback" not in no_stdin.stderr
    no_stdout = subprocess.run(
        [*command, traffic, "--report-dir", str(tmp_path / "b")],
        preexec_fn=closed(1),
        stderr=subprocess.PIPE,
        text=True,
    )
    # The verdict of the traffic (violations), reports written, nothing raised.
    assert no_stdout.returncode == 1 and "Traceback" not in no_stdout.stderr
    assert (tmp_path / "b" / "conformance.json").is_file()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda r: r["partial"].update(extra={}),
        lambda r: r["partial"].update(parts=["0/0|x"]),
        lambda r: r.update(started="yesterday"),
        lambda r: r["partial"]["results"]["requirements"].update({"body.json": "x"}),
    ],
    ids=["extra", "parts", "started", "requirements"],
)
def test_records_that_pass_the_schema_but_do_not_add_up_are_refused_by_name(
    tmp_path, capsys, spoil
):
    source = _write(tmp_path / "t.ndjson", TRAFFIC)
    whole = observe([source], report_dir=tmp_path / "a")[1]
    spoiled = json.loads(json.dumps(whole))
    spoil(spoiled)
    path = tmp_path / "spoiled.json"
    path.write_text(json.dumps(spoiled))
    other = observe([_write(tmp_path / "u.ndjson", TRAFFIC[:2])], report_dir=tmp_path / "b")
    assert other[0] == 1
    code = cli(
        [
            "report",
            "--merge",
            str(path),
            str(tmp_path / "b" / "conformance.json"),
            "--report-dir",
            str(tmp_path / "m"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 4 and str(path) in err and "Traceback" not in err


def test_a_record_nested_too_deeply_to_read_is_refused_by_name(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    code = cli(["report", "--merge", str(deep), "--report-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 4 and str(deep) in err and "Traceback" not in err


def test_an_interrupted_observation_keeps_and_reports_what_it_judged(tmp_path, monkeypatch):
    import jobs_conformance.observe as observing

    real, calls = observing.judge, []

    def judge_then_interrupt(exchange, contract=None):
        calls.append(exchange)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(exchange, contract)

    monkeypatch.setattr(observing, "judge", judge_then_interrupt)
    code, report = observe([_write(tmp_path / "t.ndjson", TRAFFIC)], report_dir=tmp_path / "r")
    # TRAFFIC[0]'s offset and TRAFFIC[1]'s braces were judged before Ctrl-C.
    assert code == 2 and report["verdict"] == "incomplete"
    assert {"body.datetime", "http.malformed-4xx"} <= failed(report)
    assert any("interrupted after 3 exchanges" in e for e in report["errors"])
    assert report["partial"]["extra"]["stopped"] == 1


def _waits_for_more(process) -> bool:
    """Whether ``process`` has read every byte written to its stdin and waits for more (on
    Linux: the pipe is empty, and the process sleeps in a read of a pipe). Lines are read a
    buffer at a time, so it asks for more only once it has judged those it holds."""
    import array
    import fcntl
    import termios
    import time

    pending = array.array("i", [0])
    fcntl.ioctl(process.stdin.fileno(), termios.FIONREAD, pending)
    if pending[0]:
        return False
    try:
        waits_on = (Path("/proc") / str(process.pid) / "wchan").read_text()
    except OSError:
        waits_on = ""
    if waits_on in ("", "0"):
        # A kernel that names no wait channel: read, then a second more to judge two lines.
        time.sleep(1)
        return True
    return "pipe_read" in waits_on


def test_sigterm_stops_observe_with_what_it_judged_reported(tmp_path):
    # CI cancelling the job: the traffic read so far is judged and reported, exit 2.
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs_conformance.cli",
            "observe",
            "-",
            "--report-dir",
            str(tmp_path / "r"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write("".join(json.dumps(e) + "\n" for e in TRAFFIC[:2]).encode())
    process.stdin.flush()  # and left open: observe waits for more
    report = tmp_path / "r" / "conformance.json"
    deadline = time.monotonic() + 60
    # Both exchanges judged: the command has read all it was sent and waits for more. A
    # fixed wait was too short on a loaded machine.
    while not _waits_for_more(process) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2, err
    record = json.loads(report.read_text())
    assert any("stopped by SIGTERM after 2 exchanges" in e for e in record["errors"])
    assert {"body.datetime", "http.malformed-4xx"} <= failed(record)
    assert b"Traceback" not in err


def test_an_answer_echoing_its_recorded_requests_credentials_hides_them_everywhere(tmp_path):
    # Recorded traffic brings no configured secret: the credentials its requests carried
    # (a header, the URL) are hidden wherever an answer shown in a report echoes them.
    unheld = UNHELD
    traffic = [
        {
            **recorded_exchange(f"/jobs/{unheld}", 500, {"echo": "Bearer SEKRIT-header-1"}),
            "request_headers": {"Authorization": "Bearer SEKRIT-header-1"},
        },
        recorded_exchange(
            "/jobs/not-a-uuid?password=SEKRIT-query-2", 200, {"you sent": "SEKRIT-query-2"}
        ),
        {
            **recorded_exchange(f"/jobs/{DOC_ID}", 200, {**DOC_EXAMPLE, "name": "SEKRIT-three"}),
            "request_headers": {"X-Gateway-Auth": "Bearer SEKRIT-three"},
        },
        recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE),  # the same job, another body
    ]
    code = cli(
        ["observe", _write(tmp_path / "t.ndjson", traffic), "--report-dir", str(tmp_path / "r")]
    )
    assert code == 1
    report = json.loads((tmp_path / "r" / "conformance.json").read_text())
    # Each answer is still shown (the evidence), without what it echoed.
    assert {"http.unknown-404", "http.malformed-4xx", "http.idempotent"} <= failed(report)
    for path in (tmp_path / "r").iterdir():
        assert "SEKRIT" not in path.read_text(errors="replace"), path.name


@pytest.mark.parametrize("status", [304, 401, 403, 407, 412, 429])
def test_answers_about_the_request_not_the_id_are_skipped_and_counted(tmp_path, status):
    # A conditional request's 304, expired credentials, a rate limit: nothing of the id.
    traffic = [
        recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE),
        recorded_exchange(f"/jobs/{DOC_ID.upper()}", status, {"error": "x"}),
        recorded_exchange("/jobs/00000000-0000-4000-8000-000000000001", status),
    ]
    code, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    assert code == 0 and failed(report) == set()
    assert report["coverage"]["exchanges"] == 1
    ((why, count),) = report["coverage"]["skipped"].items()
    assert why.startswith(f"answered {status}: ") and count == 2
    # Of a malformed id, any answer but a 4xx is a finding: found, by a 304.
    malformed = [recorded_exchange(f"/jobs/{DOC_ID}x", status)]
    code, report = observe([_write(tmp_path / "m.ndjson", malformed)], report_dir=tmp_path / "m")
    assert report["coverage"]["exchanges"] == 1
    assert failed(report) == (set() if 400 <= status < 500 else {"http.malformed-4xx"})


def test_a_server_error_is_still_judged_and_the_collection_is_another_endpoint(tmp_path):
    traffic = [
        recorded_exchange("/jobs/00000000-0000-4000-8000-000000000001", 500, "oops"),
        recorded_exchange("/jobs/", 200, [DOC_EXAMPLE]),
        recorded_exchange("/jobs/?page=2", 200, [DOC_EXAMPLE]),
    ]
    code, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    assert code == 1 and failed(report) == {"http.unknown-404"}
    assert report["coverage"]["skipped"] == {"another endpoint": 2}


def test_a_path_prefix_is_a_path_or_the_base_url_whose_path_it_is(tmp_path):
    traffic = [recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE, host="https://gw/x/api/v2")]
    source = _write(tmp_path / "t.ndjson", traffic)
    for prefix in ("/x/api/v2", "/x/api/v2/", "https://gw/x/api/v2", "HTTPS://u:pw@gw/x/api/v2"):
        out = tmp_path / prefix.replace("/", "_").replace(":", "")
        assert cli(["observe", source, "--path-prefix", prefix, "--report-dir", str(out)]) == 0
    error = usage_error("observe", source, "--path-prefix", "x/api/v2")
    assert "/x/api/v2" in error and "base URL" in error
    error = usage_error("observe", source, "--path-prefix", "htps://alice:s3cr3t@gw/?api_key=K3Y")
    assert "s3cr3t" not in error and "K3Y" not in error


def test_what_a_prefix_skips_says_the_path_a_read_must_have(tmp_path, capsys):
    # A prefix that already ends in /jobs (the endpoint's own path) skips every read: the
    # reason shows the path it looked for, /jobs doubled.
    traffic = [recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE, host="https://gw/api/v2")]
    source = _write(tmp_path / "t.ndjson", traffic)
    code = cli(["observe", source, "--path-prefix", "/api/v2/jobs", "--report-dir", str(tmp_path)])
    assert code == 2
    assert "1 skipped (another endpoint than /api/v2/jobs/jobs/{jobId})" in capsys.readouterr().out


def test_a_body_read_in_two_cases_is_judged_once_and_a_refusal_is_one_finding(tmp_path):
    other = "0000000a-0000-4000-8000-00000000000b"
    bad = {**DOC_EXAMPLE, "createdAt": "2023-11-07 05:31:56Z"}
    traffic = [
        recorded_exchange(f"/jobs/{DOC_ID}", 200, bad),
        recorded_exchange(f"/jobs/{DOC_ID.upper()}", 200, bad),
        # Another job, refused in upper case as if malformed: one behaviour, one finding.
        recorded_exchange(f"/jobs/{other}", 200, {**DOC_EXAMPLE, "id": other}),
        recorded_exchange(f"/jobs/{other.upper()}", 400, {"error": "bad id"}),
    ]
    _, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    rows = {r["id"]: r for r in report["requirements"]}
    # Each read counts once for what it shows alone; comparisons count only for cases.
    assert rows["body.datetime"]["checked"] == 3 and rows["body.datetime"]["failed"] == 2
    assert rows["http.case-insensitive"]["checked"] == 2
    assert {(f["requirement"], f["count"]) for f in report["findings"]} == {
        ("body.datetime", 2),
        ("http.unknown-404", 1),
    }


@pytest.mark.parametrize(
    ("statuses", "finding"),
    [
        # Served, then gone: the reads in its own case say so, and the other case agrees.
        ([("lower", 200), ("lower", 404), ("upper", 404)], False),
        # Served in both cases, then gone: the refused case was served before.
        ([("lower", 200), ("upper", 200), ("lower", 404)], False),
        # One replica case-sensitive: a refusal of a case served before, and the job served
        # right after it in the other case, so not deleted.
        ([("lower", 200), ("upper", 200), ("lower", 200), ("upper", 404), ("lower", 200)], True),
        # Served in one case and refused in the other between two reads of the first.
        ([("lower", 200), ("upper", 404), ("lower", 200)], True),
        # Refused, then served in another case: created in between cannot be told apart.
        ([("upper", 404), ("lower", 200)], True),
    ],
)
def test_each_read_is_compared_with_the_read_of_its_job_before_it(tmp_path, statuses, finding):
    traffic = [
        recorded_exchange(
            f"/jobs/{getattr(DOC_ID, case)()}",
            status,
            DOC_EXAMPLE if status == 200 else {"error": "not found"},
        )
        for case, status in statuses
    ]
    _, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    row = next(r for r in report["requirements"] if r["id"] == "http.case-insensitive")
    # One refusal is one failure, however many served reads stand around it.
    assert row["failed"] == int(finding)


def test_alternating_cases_count_each_refusal_once(tmp_path):
    served, refused = (DOC_ID, 200, DOC_EXAMPLE), (DOC_ID.upper(), 404, {"error": "nf"})
    reads = [served, refused, served, refused, served]
    traffic = [recorded_exchange(f"/jobs/{i}", status, body) for i, status, body in reads]
    _, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    row = next(r for r in report["requirements"] if r["id"] == "http.case-insensitive")
    assert row["failed"] == 2 and row["checked"] == 2


def test_a_merge_that_leaves_a_shard_out_gives_no_verdict_and_names_it(tmp_path, capsys):
    from jobs_conformance.merge import merge_records
    from jobs_conformance.shards import Shard

    traffic = [
        recorded_exchange(f"/jobs/{n:08x}-0000-4000-8000-000000000000", 200, DOC_EXAMPLE)
        for n in range(40)
    ]
    source = _write(tmp_path / "t.ndjson", traffic)
    parts = [
        observe([source], report_dir=tmp_path / f"p{k}", shard=Shard(k, 3))[1] for k in (1, 2, 3)
    ]
    two = merge_records(parts[:2])
    assert two["verdict"] == "incomplete" and two["errors"] == []
    assert any(f"shard 3/3 of {source}" in note for note in two["notes"])
    # The partial merge still merges on, in either order, to the report of one process.
    _, whole = observe([source], report_dir=tmp_path / "whole")
    assert whole["verdict"] == "fail"  # the bodies echo another id: a verdict, not none
    for merged in (merge_records([two, parts[2]]), merge_records([parts[2], two])):
        assert judged(merged) == judged(whole)
        assert not any("No part judged" in note for note in merged["notes"])
    paths = []
    for k, part in enumerate(parts[:2]):
        path = tmp_path / f"part{k}.json"
        path.write_text(json.dumps(part))
        paths.append(str(path))
    capsys.readouterr()
    assert cli(["report", "--merge", *paths, "--report-dir", str(tmp_path / "m")]) == 2
    out = capsys.readouterr().out
    assert "shard 3/3" in out and "requests" not in out.splitlines()[-1]


def test_a_file_named_dash_is_read_as_a_file_not_stdin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # what stdin would give: nothing
    _write(tmp_path / "-", TRAFFIC)
    for name in ("./-", ".//-"):
        _, report = observe([name], report_dir=tmp_path / "r")
        assert report["coverage"]["exchanges"] == 4, name
        assert report["partial"]["parts"] == ["1/1|./-"]


def test_parts_that_spell_one_input_two_ways_merge(tmp_path, monkeypatch):
    from jobs_conformance.merge import merge_records
    from jobs_conformance.shards import Shard

    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "t.ndjson", TRAFFIC)
    spelled = ("t.ndjson", "./t.ndjson", ".//t.ndjson")
    parts = [
        observe([name], report_dir=tmp_path / f"p{k}", shard=Shard(k, 3))[1]
        for k, name in zip((1, 2, 3), spelled, strict=True)
    ]
    merged = merge_records(parts)
    _, whole = observe(["t.ndjson"], report_dir=tmp_path / "whole")
    assert merged["verdict"] == whole["verdict"] and judged(merged) == judged(whole)


def test_errors_are_listed_with_line_numbers_in_their_order(tmp_path):
    from jobs_conformance.errors import error_order

    lines = ["x:10: b", "x:9: a", "x:100: c", "y:1: d", "x:9:"]
    assert sorted(lines, key=error_order) == ["x:9:", "x:9: a", "x:10: b", "x:100: c", "y:1: d"]
    # A total order (merged parts list alike in any order), and a number of any length.
    assert sorted(["f:7", "f:007"], key=error_order) == sorted(["f:007", "f:7"], key=error_order)
    assert sorted(["1" * 5000, "2"], key=error_order) == ["2", "1" * 5000]
    assert sorted(["x:9:5", "x:9:"], key=error_order) == ["x:9:", "x:9:5"]
    # The messages kept of many are the first in that order: lines 1 to 50 of 120.
    many = _write(tmp_path / "many.ndjson", [{"broken": n} for n in range(120)])
    _, report = observe([many], report_dir=tmp_path / "many")
    assert [e.partition(": ")[0] for e in report["errors"]] == [f"{many}:{n}" for n in range(1, 51)]


def test_a_304_is_skipped_only_as_the_answer_to_a_conditional_request(tmp_path):
    unknown = "/jobs/00000000-0000-4000-8000-000000000001"
    traffic = [
        recorded_exchange(unknown, 304, request_headers={"If-None-Match": '"v1"'}),
        recorded_exchange(unknown, 412, request_headers={"If-Match": '"v1"'}),
        # Not conditional, as recorded: a 304 says the job was found, a 412 nothing valid.
        recorded_exchange(unknown, 304, request_headers={"Accept": "application/json"}),
        recorded_exchange(unknown, 412, request_headers={"Accept": "application/json"}),
        # An access log records no request headers: it may have been conditional.
        recorded_exchange(unknown, 304),
        # nginx's 499: the client went away, nothing was answered, of any id.
        recorded_exchange(unknown, 499),
        recorded_exchange("/jobs/not-an-id", 499),
    ]
    code, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    assert code == 1 and failed(report) == {"http.unknown-404"}
    assert sorted((f["class"], f["count"]) for f in report["findings"]) == [("304", 1), ("412", 1)]
    skipped = report["coverage"]["skipped"]
    assert sum(n for why, n in skipped.items() if why.startswith("answered 304")) == 2
    assert sum(n for why, n in skipped.items() if why.startswith("answered 412")) == 1
    assert sum(n for why, n in skipped.items() if "499" in why) == 2


def test_a_body_changed_in_one_case_with_one_updated_at_is_one_finding(tmp_path):
    # Both cases served alike; then the first case again, another body, one updatedAt:
    # http.idempotent's finding, not a matter of case as well.
    changed = {**DOC_EXAMPLE, "name": "changed"}
    traffic = [
        recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE),
        recorded_exchange(f"/jobs/{DOC_ID.upper()}", 200, DOC_EXAMPLE),
        recorded_exchange(f"/jobs/{DOC_ID}", 200, changed),
    ]
    _, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    assert failed(report) == {"http.idempotent"}


def test_a_bad_gate_file_is_a_usage_error_before_the_traffic_is_read(tmp_path, monkeypatch):
    import jobs_conformance.observe as observing

    bad = tmp_path / "waivers.toml"
    bad.write_text("[[waiver]\nthis is not TOML\n")
    read = []
    monkeypatch.setattr(observing, "read_records", lambda *a, **k: read.append(a) or iter(()))
    source = _write(tmp_path / "t.ndjson", TRAFFIC)
    assert cli(["observe", source, "--waivers", str(bad), "--report-dir", str(tmp_path / "r")]) == 4
    assert read == []


def test_a_gate_file_from_the_environment_is_named_by_its_variable(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "waivers.toml"
    bad.write_text("[[waiver]\nthis is not TOML\n")
    monkeypatch.setenv("JOBS_CONFORMANCE_WAIVERS", str(bad))
    source = _write(tmp_path / "t.ndjson", TRAFFIC)
    assert cli(["observe", source, "--report-dir", str(tmp_path / "r")]) == 4
    error = capsys.readouterr().err
    assert "JOBS_CONFORMANCE_WAIVERS" in error and "--waivers" not in error


def test_one_behaviour_of_many_jobs_is_one_finding(tmp_path):
    # A case-sensitive service, read in both cases for three jobs: one finding, counted thrice.
    ids = [f"{n:07x}a-0000-4000-8000-00000000000b" for n in range(3)]
    traffic = [
        exchange
        for i in ids
        for exchange in (
            recorded_exchange(f"/jobs/{i}", 200, {**DOC_EXAMPLE, "id": i}),
            recorded_exchange(f"/jobs/{i.upper()}", 404, {"error": "not found"}),
        )
    ]
    _, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    (finding,) = report["findings"]
    assert finding["requirement"] == "http.case-insensitive" and finding["count"] == 3


def test_an_answer_before_any_route_is_skipped_not_a_refusal_of_the_id(tmp_path):
    # Maintenance (503 with Retry-After) in one case, then the job served in the other: no
    # case finding. An edge's http-to-https redirect, or Chrome's HSTS "Internal Redirect"
    # (a 307 to the same path), is not the endpoint's answer: no http.unknown-404.
    https = "https://gateway.example/api/v2"
    traffic = [
        recorded_exchange(f"/jobs/{DOC_ID.upper()}", 503, "down", headers={"Retry-After": "30"}),
        recorded_exchange(f"/jobs/{DOC_ID}", 200, DOC_EXAMPLE),
        recorded_exchange(
            f"/jobs/{DOC_ID}",
            307,
            host="http://gateway.example/api/v2",
            headers={"Location": f"{https}/jobs/{DOC_ID}", "Non-Authoritative-Reason": "HSTS"},
        ),
        recorded_exchange(
            "/jobs/not-an-id?x=1",
            301,
            host="http://gateway.example/api/v2",
            headers={"Location": "https://gateway.example/api/v2/jobs/not-an-id?x=1"},
        ),
    ]
    code, report = observe([_write(tmp_path / "t.ndjson", traffic)], report_dir=tmp_path / "r")
    assert (code, failed(report), report["coverage"]["exchanges"]) == (0, set(), 1)
    skipped = report["coverage"]["skipped"]
    assert sorted(why.split(":")[0] for why in skipped) == [
        "answered 301",
        "answered 307",
        "answered 503",
    ]
    # A redirect elsewhere on the same origin, or a 503 without Retry-After, is judged.
    judged = [
        recorded_exchange(
            f"/jobs/{DOC_ID.upper()}", 301, headers={"Location": f"/api/v2/jobs/{DOC_ID}"}
        ),
        recorded_exchange("/jobs/00000000-0000-4000-8000-000000000001", 503, "down"),
    ]
    code, report = observe([_write(tmp_path / "j.ndjson", judged)], report_dir=tmp_path / "j")
    assert code == 1 and report["coverage"]["exchanges"] == 2
    assert sorted(f["class"] for f in report["findings"]) == ["301", "503"]


def test_an_input_named_twice_is_a_usage_error_not_counted_twice(tmp_path):
    source = _write(tmp_path / "t.ndjson", TRAFFIC)
    dotted = f"{tmp_path}/./t.ndjson"  # one input, as parts name it
    for files in ([source, source], ["-", source, "-"], [source, dotted]):
        error = usage_error("observe", *files, "--report-dir", str(tmp_path / "r"))
        assert repr(files[-1]) in error and "named once" in error
    assert not (tmp_path / "r").exists()
