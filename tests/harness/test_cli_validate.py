"""`jobs-conformance validate` as a user runs it: a real process, real files, exit codes."""

from __future__ import annotations

import json
import subprocess

import pytest
from tests_support import DOC_EXAMPLE, usage_error

from jobs_conformance.invocation import command_line


def _validate(*args, stdin=b""):
    return subprocess.run(
        command_line("validate", *args),
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def test_doc_example_passes(tmp_path):
    path = tmp_path / "example.json"
    path.write_text(json.dumps(DOC_EXAMPLE))
    result = _validate(str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"source": str(path), "ok": True, "violations": []}


def test_non_leap_feb_29_fails_naming_body_datetime(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**DOC_EXAMPLE, "createdAt": "2100-02-29T00:00:00Z"}))
    result = _validate(str(path))
    assert result.returncode == 1
    record = json.loads(result.stdout)
    assert record["ok"] is False
    assert "body.datetime" in {v["requirement"] for v in record["violations"]}


def test_should_level_fails_only_with_strict():
    body = json.dumps({**DOC_EXAMPLE, "createdAt": "2023-11-07T05:31Z"}).encode()
    assert _validate("-", stdin=body).returncode == 0
    assert _validate("--strict", "-", stdin=body).returncode == 1


def test_jsonl_ten_thousand_bodies(tmp_path):
    good = json.dumps(DOC_EXAMPLE)
    bad = json.dumps({**DOC_EXAMPLE, "id": "not-a-uuid"})
    lines = [bad if i == 7777 else good for i in range(10_000)]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = _validate("--jsonl", str(path))
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 10_000
    assert [r["source"] for r in records if not r["ok"]] == [f"{path}:7778"]


def test_unreadable_input_is_exit_2_and_other_files_are_still_judged(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(DOC_EXAMPLE))
    result = _validate(str(tmp_path / "missing.json"), str(good))
    assert result.returncode == 2
    assert "cannot read" in result.stderr.decode() and "Traceback" not in result.stderr.decode()
    assert json.loads(result.stdout)["ok"] is True


@pytest.mark.parametrize("args", [["--no-such-option"], ["validate-typo"]])
def test_usage_errors_exit_4(args):
    usage_error(*args)


def test_standard_input_named_twice_is_a_usage_error():
    # Its second read would be empty: an empty body judged, and failed, though none was given.
    assert "standard input named once" in usage_error("validate", "-", "-")
