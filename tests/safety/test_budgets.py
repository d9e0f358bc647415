"""--max-requests is a hard cap, --rate-limit caps any one-second window, Retry-After is honoured."""

from __future__ import annotations

import time

from tests_support import run_cli_in_process, statuses

from jobs_conformance.reference.server import ReferenceServer

from .conftest import Recording

pytest_plugins = ["pytester"]


def _server_with_recorder(**kwargs):
    server = ReferenceServer(**kwargs)
    recorder = Recording(server.app)
    server.app = recorder
    return server, recorder


def test_max_requests_is_a_hard_cap_and_the_rest_is_not_checked(pytester, tmp_path):
    server, recorder = _server_with_recorder()
    with server:
        code, report, out, err = run_cli_in_process(
            pytester,
            "--base-url",
            server.base_url,
            "--job-id",
            server.job_ids()[0],
            "--max-requests",
            "40",
            report_dir=tmp_path / "r",
        )
    assert len(recorder.seen) <= 40
    assert report["requests_sent"] == len(recorder.seen)
    assert code == 0, out + err
    reasons = [row["reason"] for row in report["requirements"] if row["status"] == "not-checked"]
    assert any("budget" in (reason or "") for reason in reasons)
    assert any("budget" in note for note in report["notes"])


def test_rate_limit_caps_every_one_second_window(pytester, tmp_path):
    server, recorder = _server_with_recorder()
    with server:
        started = time.monotonic()
        run_cli_in_process(
            pytester,
            "--base-url",
            server.base_url,
            "--rate-limit",
            "20",
            "--max-requests",
            "60",
            report_dir=tmp_path / "r",
        )
        elapsed = time.monotonic() - started
    times = sorted(at for *_, at in recorder.seen)
    # The run needs more than 60 requests, so the budget is what stops it.
    assert len(times) == 60
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 20, busiest
    # Three windows of 20: the last cannot start before 2 s have passed.
    assert elapsed >= 2.0


class _Throttle:
    """Answers the first requests 429 / 503 with Retry-After: 1, then passes through."""

    def __init__(self, app):
        self.app = app
        self.calls = 0
        self.times: list[float] = []

    def __call__(self, environ, start_response):
        self.calls += 1
        self.times.append(time.monotonic())
        if self.calls <= 3:
            status = "429 Too Many Requests" if self.calls < 3 else "503 Service Unavailable"
            start_response(status, [("Retry-After", "1"), ("Content-Length", "0")])
            return [b""]
        return self.app(environ, start_response)


def test_429_and_503_with_retry_after_are_waited_out_and_not_counted(pytester, tmp_path):
    server = ReferenceServer()
    throttle = _Throttle(server.app)
    server.app = throttle
    with server:
        code, report, out, err = run_cli_in_process(
            pytester,
            "--base-url",
            server.base_url,
            "--job-id",
            server.job_ids()[0],
            report_dir=tmp_path / "r",
        )
    assert code == 0, out + err
    assert set(statuses(report).values()) <= {"pass", "not-checked"}
    assert throttle.times[3] - throttle.times[0] >= 2.9  # three waits of one second


def test_a_rate_below_one_per_second_spaces_requests_by_its_inverse():
    # --rate-limit 0.8 allows one request per 1.25 s, not one per second.
    from jobs_conformance.client import Client, ClientSettings

    server, recorder = _server_with_recorder()
    with server:
        client = Client(ClientSettings(base_url=server.base_url, rate_limit=0.8))
        for _ in range(2):
            client.get_job(server.job_ids()[0])
        client.close()
    first, second = (at for *_, at in recorder.seen)
    assert second - first >= 1 / 0.8


def test_retry_after_with_non_ascii_digits_is_not_a_delay():
    # RFC 9110 delay-seconds are ASCII digits. Header bytes arrive as Latin-1,
    # where "²" passes str.isdigit() and fails float(): it must be no delay
    # (the 429 comes back as it is, unretried), not a crash.
    from hostile import HostileServer, respond

    from jobs_conformance.client import Client, ClientSettings

    with HostileServer(lambda seen, c: respond(c, 429, b"", {"Retry-After": "\u00b2"})) as target:
        client = Client(ClientSettings(base_url=target.base_url))
        _, response = client.get_job("3c90c3cc-0d44-4b50-8888-8dd25736052a")
        client.close()
    assert response.status == 429
    assert len(target.seen) == 1


def _later(seen, connection):
    from hostile import respond

    respond(connection, 503, b"", {"Retry-After": "30"})


def test_no_retry_after_is_waited_out_for_a_retry_the_budget_would_refuse():
    from hostile import HostileServer

    from jobs_conformance.client import Client, ClientSettings

    with HostileServer(_later) as target:
        client = Client(ClientSettings(base_url=target.base_url, max_requests=1))
        started = time.monotonic()
        _, response = client.get_job("3c90c3cc-0d44-4b50-8888-8dd25736052a")
        client.close()
    # Not 30 s of waiting for a request that could not be sent: the answer as it came.
    assert response.status == 503 and time.monotonic() - started < 15
    assert len(target.seen) == 1


def test_a_cancelled_client_ends_its_retry_after_waits_and_sends_no_more():
    import threading

    from hostile import HostileServer

    from jobs_conformance.client import Cancelled, Client, ClientSettings

    with HostileServer(_later) as target:
        client = Client(ClientSettings(base_url=target.base_url))
        answers = []
        waiting = threading.Thread(
            target=lambda: answers.append(client.get_job("3c90c3cc-0d44-4b50-8888-8dd25736052a"))
        )
        started = time.monotonic()
        waiting.start()
        while not target.seen and time.monotonic() - started < 10:
            time.sleep(0.01)
        client.cancel("the target cannot answer now")
        waiting.join(timeout=15)
        assert not waiting.is_alive(), "still waiting out Retry-After: 30"
        ((_, response),) = answers
        assert response.status == 503
        try:
            client.get_job("3c90c3cc-0d44-4b50-8888-8dd25736052a")
        except Cancelled as exc:
            assert str(exc) == "the target cannot answer now"
        else:
            raise AssertionError("a cancelled client sent a request")
        client.close()
    assert len(target.seen) == 1
