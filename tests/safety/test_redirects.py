"""Redirects are reported as what they are and never followed: credentials never reach another host."""

from __future__ import annotations

from hostile import HostileServer, json_404, respond
from tests_support import run_cli_in_process

from .conftest import HELD, is_held, is_malformed

pytest_plugins = ["pytester"]

SECRET = "Bearer redirect-test-secret-4b1d"


def test_a_redirect_to_another_host_is_a_violation_and_is_not_followed(pytester, tmp_path):
    with HostileServer(lambda seen, c: respond(c, 200, b"{}"), host="127.0.0.2") as elsewhere:

        def redirecting(seen, connection):
            if is_held(seen) or is_malformed(seen):
                respond(connection, 302, b"", {"Location": f"{elsewhere.base_url}/jobs/{HELD}"})
            else:
                json_404(seen, connection)

        with HostileServer(redirecting) as target:
            code, report, out, err = run_cli_in_process(
                pytester,
                "--base-url",
                target.base_url,
                "--job-id",
                HELD,
                "--header",
                f"Authorization: {SECRET}",
                report_dir=tmp_path / "r",
            )
    assert code == 1, out + err
    assert elsewhere.seen == [], "the suite followed a redirect"
    rows = {row["id"]: row for row in report["requirements"]}
    assert rows["http.status-known"]["status"] == "fail"
    assert rows["http.status-known"]["counterexamples"][0]["response"]["status"] == 302
    assert rows["http.malformed-4xx"]["status"] == "fail"
    assert SECRET.split()[1] not in (tmp_path / "r" / "conformance.json").read_text()
