"""`replay`: a finding's exchange rebuilt as the run built it, judged again; no verdict said why;
misuse a usage error. Hand-made findings against in-process reference servers."""

from __future__ import annotations

import argparse
import json

import pytest
from tests_support import closed_port

from jobs_conformance.client import Client, ClientSettings
from jobs_conformance.errors import ExitCode, UsageError
from jobs_conformance.exchange import Intent
from jobs_conformance.oracle import judge
from jobs_conformance.probes import in_seed_namespace
from jobs_conformance.reference.app import API_KEY_HEADER, SEED_PATH
from jobs_conformance.reference.corpus import pinned_jobs
from jobs_conformance.reference.server import ReferenceServer
from jobs_conformance.replay import (
    Replayed,
    Verdict,
    add_parser,
    exchange_for,
    load_findings,
    pytest_source,
    replay,
    run_replay,
    select_findings,
)
from jobs_conformance.results import finding_id

KEY = "replay-key-0123456789"


def _finding(requirement: str, kind: str, **probe) -> dict:
    defaults = {
        "job_id": "",
        "intent": "known",
        "label": "",
        "about": None,
        "detail": "",
        "baseline": None,
        "alternates": [],
        "credentials": None,
        "expected": None,
    }
    return {
        "id": finding_id(requirement, kind),
        "requirement": requirement,
        "class": kind,
        "probe": {**defaults, **probe},
    }


def _case_variant(job_id: str) -> dict:
    return _finding(
        "http.case-insensitive",
        job_id.lower(),
        job_id=job_id.upper(),
        intent="case-variant",
        label="another case",
        about=job_id,
        baseline=job_id,
        alternates=[job_id, job_id],
    )


def _lettered(server: ReferenceServer) -> str:
    return next(i for i in server.job_ids() if any(c.isalpha() for c in i))


def _client(base_url: str, headers: dict | None = None, **options) -> Client:
    return Client(ClientSettings(base_url=base_url, headers=headers or {}, **options))


def _report(tmp_path, findings, target="http://127.0.0.1:1/api/v2") -> str:
    path = tmp_path / "conformance.json"
    path.write_text(json.dumps({"target": target, "findings": findings}), encoding="utf-8")
    return str(path)


def _arguments(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="jobs-conformance")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["replay", *argv])


@pytest.fixture(scope="module")
def clean():
    with ReferenceServer(api_key=KEY, allow_seeding=True) as server:
        yield server


@pytest.fixture(scope="module")
def case_sensitive():
    with ReferenceServer(faults=["case-sensitive-lookup"]) as server:
        yield server


# --- The line each verdict prints, and the exit code of a replay.

LINES = [
    (Replayed("x#00000000", Verdict.FIXED, 0, 3), "FIXED"),
    (Replayed("x#00000000", Verdict.STILL_FAILING, 3, 3), "STILL FAILING (3/3)"),
    (Replayed("x#00000000", Verdict.FLAKY, 1, 3), "FLAKY (1/3)"),
    (Replayed("x#00000000", Verdict.NO_VERDICT, reason="unreachable"), "NO VERDICT (unreachable)"),
]


@pytest.mark.parametrize(("replayed", "line"), LINES, ids=[line for _, line in LINES])
def test_each_verdict_prints_as_documented(replayed, line):
    assert replayed.text == line


# --- Rebuilding the run's exchanges.


def test_a_case_variant_is_compared_with_a_fresh_answer_for_its_baseline(case_sensitive, clean):
    finding = _case_variant(_lettered(case_sensitive))
    exchange = exchange_for(finding["probe"], _client(case_sensitive.base_url))
    assert exchange.intent is Intent.CASE_VARIANT
    assert exchange.baseline is not None and exchange.baseline.response.status == 200
    assert exchange.baseline.job_id == finding["probe"]["baseline"]
    assert [a.job_id for a in exchange.alternates] == finding["probe"]["alternates"]
    assert exchange.response.status == 404
    faulty = replay(finding, _client(case_sensitive.base_url), times=2)
    assert (faulty.verdict, faulty.reproduced, faulty.sent) == (Verdict.STILL_FAILING, 2, 2)
    fixed = replay(finding, _client(clean.base_url, {API_KEY_HEADER: KEY}), times=2)
    assert fixed.verdict is Verdict.FIXED


def test_a_held_job_takes_its_other_cases_along(case_sensitive):
    job_id = _lettered(case_sensitive)
    probe = _finding("http.status-known", job_id, job_id=job_id.upper(), alternates=[job_id])
    exchange = exchange_for(probe["probe"], _client(case_sensitive.base_url))
    # Not found as asked, found in another case: the case is the finding, not the job.
    assert exchange.response.status == 404
    assert [a.response.status for a in exchange.alternates] == [200]
    assert not [v for v in judge(exchange).violations if v.requirement == "http.status-known"]


@pytest.mark.parametrize(("credentials", "sent"), [("without", None), ("altered", KEY[:-1] + "x")])
def test_an_unauthenticated_request_leaves_out_or_alters_the_declared_header(
    clean, credentials, sent
):
    label = f"{'without' if credentials == 'without' else 'with an altered'} {API_KEY_HEADER}"
    finding = _finding(
        "auth.required",
        label,
        job_id=clean.job_ids()[0],
        intent="unauthenticated",
        label=label,
        credentials=credentials,
    )
    client = _client(clean.base_url, {API_KEY_HEADER: KEY, "X-Trace": "t"})
    exchange = exchange_for(finding["probe"], client, auth_headers=[API_KEY_HEADER])
    assert dict(exchange.sent_headers or {}).get(API_KEY_HEADER) == sent
    assert exchange.sent_headers["X-Trace"] == "t"
    assert exchange.response.status == 401
    assert replay(finding, client, auth_headers=[API_KEY_HEADER]).verdict is Verdict.FIXED
    with ReferenceServer(api_key=KEY, faults=["auth-absent-skipped"]) as faulty:
        again = replay(
            finding,
            _client(faulty.base_url, {API_KEY_HEADER: KEY}),
            auth_headers=[API_KEY_HEADER],
        )
    # The fault checks the key only when the header is there: an altered one is refused.
    expected = Verdict.STILL_FAILING if credentials == "without" else Verdict.FIXED
    assert again.verdict is expected


def test_a_seeded_job_is_stored_and_read_back_again(clean):
    job = {**pinned_jobs()[2], "id": in_seed_namespace(pinned_jobs()[2]["id"])}
    probe = {"job_id": job["id"], "intent": "seeded", "expected": job, "baseline": job["id"]}
    with ReferenceServer(faults=["seed-drops-fractions"], allow_seeding=True) as faulty:
        seed_url = faulty.base_url + SEED_PATH
        client = _client(faulty.base_url)
        exchange = exchange_for(probe, client, seed_url=seed_url)
        violations = [v for v in judge(exchange).violations if v.requirement == "seed.round-trip"]
        assert violations, "the fault drops the 12-digit fraction of the pinned job"
        finding = _finding("seed.round-trip", violations[0].kind, **probe)
        assert replay(finding, client, seed_url=seed_url).verdict is Verdict.STILL_FAILING
    fixed = replay(
        finding,
        _client(clean.base_url, {API_KEY_HEADER: KEY}),
        seed_url=clean.base_url + SEED_PATH,
    )
    assert fixed.verdict is Verdict.FIXED


# --- No verdict, and why.


def _no_verdict(replayed: Replayed, reason: str) -> None:
    assert replayed.verdict is Verdict.NO_VERDICT, replayed
    assert reason in replayed.reason, replayed.reason


def test_an_unreachable_target_is_no_verdict(case_sensitive):
    finding = _case_variant(_lettered(case_sensitive))
    client = _client(f"http://127.0.0.1:{closed_port()}/api/v2", timeout_s=2)
    _no_verdict(replay(finding, client, times=1), "unreachable")


def test_credentials_refused_to_an_ordinary_probe_is_no_verdict(clean):
    finding = _case_variant(_lettered(clean))
    _no_verdict(replay(finding, _client(clean.base_url)), "answered 401: credentials missing")


def test_an_unauthenticated_finding_without_a_declared_credential_header_is_no_verdict(clean):
    finding = _finding(
        "auth.required",
        "without X-Api-Key",
        job_id=clean.job_ids()[0],
        intent="unauthenticated",
        label="without X-Api-Key",
        credentials="without",
    )
    client = _client(clean.base_url, {API_KEY_HEADER: KEY})
    _no_verdict(replay(finding, client), "--auth-header")


def test_a_seeded_finding_without_a_seeding_url_is_no_verdict(clean):
    job = pinned_jobs()[0]
    finding = _finding(
        "seed.round-trip", "createdAt", job_id=job["id"], intent="seeded", expected=job
    )
    _no_verdict(replay(finding, _client(clean.base_url, {API_KEY_HEADER: KEY})), "--seed-url")


def test_a_spent_budget_is_no_verdict_with_what_was_judged_before(case_sensitive):
    # Each send is four requests: the baseline, the variant, its two repeats.
    finding = _case_variant(_lettered(case_sensitive))
    client = _client(case_sensitive.base_url, max_requests=6)
    replayed = replay(finding, client, times=3)
    _no_verdict(replayed, "budget of 6 requests is spent")
    assert "reproduced 1 of 1 sent before" in replayed.reason


@pytest.mark.parametrize(
    ("probe", "reason"),
    [(None, "no request to send again"), ({"job_id": "x", "intent": "sniffed"}, "'sniffed'")],
)
def test_a_finding_without_a_usable_probe_is_no_verdict(case_sensitive, probe, reason):
    finding = {**_case_variant(_lettered(case_sensitive)), "probe": probe}
    _no_verdict(replay(finding, _client(case_sensitive.base_url)), reason)


def test_the_command_exits_2_when_no_finding_could_be_judged(tmp_path, capsys):
    finding = _case_variant("00000010-0010-1010-8070-000000026f50")
    url = f"http://127.0.0.1:{closed_port()}/api/v2"
    code = run_replay(_arguments("--all", "--from", _report(tmp_path, [finding], url)))
    assert code == ExitCode.NO_VERDICT
    out = capsys.readouterr().out
    assert out.startswith(f"{finding['id']}  NO VERDICT (unreachable")


# --- Misuse: a usage error naming the problem, before anything is sent.


@pytest.mark.parametrize(
    ("ids", "every", "named"),
    [
        (["http.unknown-404#00000000"], False, "http.unknown-404#00000000"),
        ([], False, "FINDING"),
        (["http.unknown-404#00000000"], True, "--all"),
    ],
    ids=["unknown id", "neither ids nor --all", "ids and --all"],
)
def test_selecting_findings_wrongly_is_a_usage_error(ids, every, named):
    findings = [_case_variant("00000010-0010-1010-8070-000000026f50")]
    with pytest.raises(UsageError) as raised:
        select_findings(findings, ids, every=every)
    assert named in str(raised.value)


def test_selected_findings_keep_the_order_asked_for():
    first, second = _case_variant("0000000a-0000-4000-8000-000000000000"), _finding("x.y", "z")
    assert select_findings([first, second], [second["id"], first["id"]], every=False) == [
        second,
        first,
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "a readable conformance.json"),
        ("{not json", "a readable conformance.json"),
        ('{"target": "x"}', "no findings array"),
        ('{"findings": [{"id": "x"}]}', "findings/0"),
        (
            '{"findings": [{"id": "no hash", "requirement": "r", "class": "c", "probe": null}]}',
            "id",
        ),
    ],
    ids=["missing", "not JSON", "no findings", "finding without probe", "bad id"],
)
def test_a_missing_or_invalid_report_is_a_usage_error(tmp_path, content, expected):
    path = tmp_path / "conformance.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        load_findings(path)
    assert str(path) in str(raised.value) and expected in str(raised.value)


@pytest.mark.parametrize(
    "target",
    ["embedded reference http://127.0.0.1:4000/api/v2", "https://[REDACTED]@jobs.example/api/v2"],
)
def test_a_report_whose_target_cannot_be_sent_to_needs_a_base_url(tmp_path, monkeypatch, target):
    monkeypatch.delenv("PYTEST_BASE_URL", raising=False)
    finding = _case_variant("00000010-0010-1010-8070-000000026f50")
    args = _arguments("--all", "--from", _report(tmp_path, [finding], target))
    with pytest.raises(UsageError) as raised:
        run_replay(args)
    assert "--base-url" in str(raised.value) and target in str(raised.value)


def test_times_must_be_a_whole_number_from_1(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _arguments("--all", "--from", "x.json", "--times", "0")
    assert "--times" in capsys.readouterr().err
    args = _arguments("--all", "--from", _report(tmp_path, []))
    args.times = 0
    with pytest.raises(UsageError, match="--times"):
        run_replay(args)


def test_a_bad_run_option_is_the_same_usage_error_as_for_run(tmp_path):
    args = _arguments("--all", "--from", _report(tmp_path, []), "--timeout", "soon")
    with pytest.raises(UsageError, match="--timeout: 'soon'"):
        run_replay(args)


# --- Emitted tests.


def test_an_emitted_test_is_the_same_file_from_any_run_and_holds_no_host_or_credential():
    finding = _case_variant("00000010-0010-1010-8070-000000026f50")
    from_a_run = {
        **finding,
        "message": "seen at 127.0.0.1:41234",
        "request": {"method": "GET", "url": "http://127.0.0.1:41234/api/v2/jobs/x", "headers": {}},
        "started": "2026-01-01T00:00:00+00:00",
    }
    source = pytest_source(from_a_run)
    assert source == pytest_source({**from_a_run, "request": None, "message": "another day"})
    assert "127.0.0.1" not in source and "41234" not in source and "2026" not in source
    namespace: dict = {}
    exec(compile(source, "emitted.py", "exec"), namespace)
    assert namespace["FINDING"] == finding
    name = "test_http_case_insensitive_" + finding["id"].split("#")[1]
    assert callable(namespace[name])
    assert '@pytest.mark.requirement("http.case-insensitive")' in source


def test_an_emitted_test_embeds_any_class_and_id_as_valid_python():
    hostile = '\\x0"""\n\u202e' + "a" * 100
    finding = _finding("http.malformed-4xx", hostile, job_id=hostile, intent="malformed")
    namespace: dict = {}
    exec(compile(pytest_source(finding), "emitted.py", "exec"), namespace)
    assert namespace["FINDING"] == finding


def test_exit_0_only_when_every_finding_is_judged_fixed():
    from jobs_conformance.replay import _exit_code

    assert _exit_code([Verdict.FIXED, Verdict.FIXED]) == 0
    assert _exit_code([Verdict.FIXED, Verdict.NO_VERDICT]) == 2
    assert _exit_code([Verdict.NO_VERDICT, Verdict.FLAKY]) == 1
    assert _exit_code([Verdict.STILL_FAILING, Verdict.FIXED]) == 1


def test_an_emitted_test_run_without_a_base_url_fails_instead_of_checking_the_reference():
    import types

    from jobs_conformance.replay import check_fixed

    embedded = types.SimpleNamespace(embedded=True)
    finding = {"id": "http.case-insensitive#00000000", "probe": None}
    with pytest.raises(pytest.fail.Exception, match="--base-url"):
        check_fixed(finding, embedded, client=None)
