"""The reference server over real HTTP: every requirement holds, for every corpus job."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs_conformance.client import Client, ClientSettings
from jobs_conformance.exchange import Intent
from jobs_conformance.oracle import judge
from jobs_conformance.probes import case_variants, fetch, seed_and_fetch
from jobs_conformance.reference.corpus import pinned_jobs
from jobs_conformance.reference.server import ReferenceServer
from jobs_conformance.strategies.jobs import jobs
from jobs_conformance.strategies.uuids import (
    INVALID_UUID_CLASSES,
    NEAR_MISS_KINDS,
    invalid_uuids,
    near_miss,
    valid_uuids,
)


def _violations(exchange):
    judgement = judge(exchange)
    assert judgement.crashes == ()
    return [(v.requirement, v.message) for v in judgement.violations]


def test_every_corpus_job_is_served_with_no_violation(reference, client):
    ids = reference.job_ids()
    assert len(ids) >= 50
    for job_id in ids:
        known = fetch(client, job_id, Intent.KNOWN)
        assert known.response.status == 200
        assert _violations(known) == [], job_id
        again = fetch(client, job_id, Intent.REPEAT, baseline=known)
        assert _violations(again) == [], job_id


def test_upper_and_mixed_case_ids_return_the_same_job(reference, client):
    for job_id in reference.job_ids()[:12]:
        known = fetch(client, job_id, Intent.KNOWN)
        for variant in case_variants(job_id):
            exchange = fetch(client, variant, Intent.CASE_VARIANT, baseline=known)
            assert exchange.response.status == 200
            assert exchange.job == known.job
            assert _violations(exchange) == []


@given(valid_uuids())
def test_unknown_well_formed_ids_are_404(reference, client, job_id):
    if job_id.lower() in {i.lower() for i in reference.job_ids()}:
        return
    exchange = fetch(client, job_id, Intent.UNKNOWN)
    assert exchange.response.status == 404
    assert exchange.response.parsed.value["error"] == "job not found"


@pytest.mark.parametrize("name", INVALID_UUID_CLASSES)
@given(data=st.data())
def test_every_invalid_uuid_class_is_400_with_a_json_error(reference, client, name, data):
    invalid = data.draw(invalid_uuids(classes=[name]))
    exchange = fetch(client, invalid.value, Intent.MALFORMED)
    assert exchange.response.status == 400, invalid
    assert exchange.response.header("Content-Type") == "application/json"
    assert exchange.response.parsed.value["error"] == "malformed jobId"


@pytest.mark.parametrize("kind", NEAR_MISS_KINDS)
def test_near_misses_of_a_held_id_are_400(reference, client, kind):
    exchange = fetch(client, near_miss(reference.job_ids()[0], kind), Intent.MALFORMED)
    assert exchange.response.status == 400


def test_keep_alive_one_connection_serves_many_requests(reference):
    url = urlsplit(reference.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        connection.connect()
        local = connection.sock.getsockname()
        for job_id in reference.job_ids()[:20]:
            connection.request("GET", f"{url.path}/jobs/{job_id}")
            response = connection.getresponse()
            assert response.status == 200 and response.version == 11
            assert json.loads(response.read())["id"] == job_id
        assert connection.sock.getsockname() == local
    finally:
        connection.close()


def test_only_read_methods_are_served(reference, client):
    job_url = client.job_url(reference.job_ids()[0])
    _, head = client.send("HEAD", job_url)
    assert head.status == 200 and head.body == b""
    _, options = client.send("OPTIONS", job_url)
    assert options.status == 204 and options.header("Allow") == "GET, HEAD, OPTIONS"
    for method in ("PUT", "DELETE", "POST"):
        _, response = client.send(method, job_url, seeding=True)
        assert response.status == 405


def test_seeding_is_off_by_default(reference, client):
    job = pinned_jobs()[0]
    seeded = seed_and_fetch(client, reference.base_url + "/__seed/jobs", job)
    assert seeded.request.method == "PUT" and seeded.response.status == 404


@given(jobs())
def test_seeded_jobs_round_trip(seeding_server, seeding_client, job):
    exchange = seed_and_fetch(seeding_client, seeding_server.base_url + "/__seed/jobs", job)
    assert exchange.request.method == "GET" and exchange.response.status == 200
    assert _violations(exchange) == []


def test_seeding_rejects_a_nonconforming_body_with_reasons(seeding_server, seeding_client):
    job = {**pinned_jobs()[0], "createdAt": "2100-02-29T00:00:00Z"}
    url = f"{seeding_server.base_url}/__seed/jobs/{job['id']}"
    _, response = seeding_client.send("PUT", url, body=json.dumps(job).encode(), seeding=True)
    assert response.status == 400
    assert any("body.datetime" in reason for reason in response.parsed.value["violations"])


@pytest.fixture(scope="module")
def seeding_server():
    with ReferenceServer(allow_seeding=True) as server:
        yield server


@pytest.fixture(scope="module")
def seeding_client(seeding_server):
    client = Client(ClientSettings(base_url=seeding_server.base_url, timeout_s=5))
    yield client
    client.close()


def test_api_key_is_required_when_configured(client_for):
    with ReferenceServer(api_key="s3cret-key") as server:
        job_id = server.job_ids()[0]
        plain = client_for(server.base_url)
        assert plain.get_job(job_id)[1].status == 401
        assert plain.get_job(job_id, headers={"X-Api-Key": "s3cret-kex"})[1].status == 401
        assert plain.get_job(job_id, headers={"X-Api-Key": "s3cret-key"})[1].status == 200


def test_database_file_is_seeded_once_and_kept(tmp_path):
    db = tmp_path / "jobs.sqlite3"
    with ReferenceServer(db=db, allow_seeding=True) as server:
        count = len(server.job_ids())
        job = {**pinned_jobs()[0], "id": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"}
        server.store.put(job)
    with ReferenceServer(db=db) as server:
        assert len(server.job_ids()) == count + 1
