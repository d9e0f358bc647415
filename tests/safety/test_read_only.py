"""Only GET, HEAD and OPTIONS reach the endpoint; PUT goes only to a configured seeding URL."""

from __future__ import annotations

from tests_support import run_cli_in_process

from jobs_conformance.reference.server import ReferenceServer

from .conftest import Recording

pytest_plugins = ["pytester"]


def _recorded_run(pytester, tmp_path, *, seeding: bool):
    server = ReferenceServer(allow_seeding=seeding, api_key="read-only-key-123")
    recorder = Recording(server.app)
    server.app = recorder
    with server:
        args = ["--base-url", server.base_url, "--header", "X-Api-Key: read-only-key-123"]
        args += ["--job-ids-file", str(_ids(tmp_path, server))]
        if seeding:
            args += ["--seed-url", server.base_url + "/__seed/jobs"]
        code, report, out, err = run_cli_in_process(pytester, *args, report_dir=tmp_path / "r")
    assert code == 0, out + err
    assert len(recorder.seen) == report["requests_sent"] > 100
    return recorder.seen


def _ids(tmp_path, server):
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(server.job_ids()))
    return path


def test_a_full_run_sends_only_read_methods(pytester, tmp_path):
    seen = _recorded_run(pytester, tmp_path, seeding=False)
    methods = {method for method, *_ in seen}
    assert methods <= {"GET", "HEAD", "OPTIONS"}, methods


def test_put_goes_only_to_the_configured_seeding_url(pytester, tmp_path):
    seen = _recorded_run(pytester, tmp_path, seeding=True)
    puts = [path for method, path, *_ in seen if method == "PUT"]
    assert puts and all(path.startswith("/api/v2/__seed/jobs/") for path in puts)
    assert {method for method, path, *_ in seen if not path.startswith("/api/v2/__seed/")} <= {
        "GET",
        "HEAD",
        "OPTIONS",
    }
