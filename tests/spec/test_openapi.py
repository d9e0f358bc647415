"""spec/openapi.yaml and spec/requirements.yaml against the doc page and the issue's catalogue."""

from __future__ import annotations

import re
import shutil

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from jobs_conformance.contract import default_spec_dir, load_contract
from jobs_conformance.errors import UsageError

# The ids and severities the contract issue fixes; reports and faults use them.
CATALOGUE = {
    "body.json": "must",
    "body.required": "must",
    "body.types": "must",
    "body.uuid": "must",
    "body.datetime": "must",
    "body.datetime-rfc3339": "should",
    "body.job-config": "must",
    "body.workflow-order": "should",
    "body.timeline": "should",
    "http.content-type": "must",
    "http.status-known": "must",
    "http.id-echo": "must",
    "http.case-insensitive": "must",
    "http.idempotent": "must",
    "http.unknown-404": "must",
    "http.malformed-4xx": "must",
    "auth.required": "must",
    "seed.round-trip": "must",
}


@pytest.fixture(scope="module")
def spec():
    return load_contract().spec


def test_spec_is_valid_openapi_31(spec):
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_operation_and_server_follow_the_doc(spec):
    assert spec["servers"] == [{"url": "https://worker.anon.com/api/v2"}]
    operation = spec["paths"]["/jobs/{jobId}"]["get"]
    assert operation["operationId"] == "getJob"
    (parameter,) = operation["parameters"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("jobId", "path", True)


def test_patterns_are_the_doc_pages_byte_for_byte(shared_dir, spec):
    page = (shared_dir / "seeds" / "get-job-by-id.txt").read_text(encoding="utf-8")
    documented = set(re.findall(r"^Pattern: (.*)$", page, re.MULTILINE))
    contract = load_contract()
    path_pattern = spec["paths"]["/jobs/{jobId}"]["get"]["parameters"][0]["schema"]["pattern"]
    assert len(documented) == 2
    assert {
        path_pattern,
        contract.uuid_pattern.source,
        contract.datetime_pattern.source,
    } == documented
    assert all(f.pattern is not None for f in contract.fields.values() if f.format)


def test_job_fields_types_and_nullability_follow_the_doc(shared_dir):
    page = (shared_dir / "seeds" / "get-job-by-id.txt").read_text(encoding="utf-8")
    response = page.split("Successfully retrieved job", 1)[1]
    documented = dict(
        re.findall(
            r"^(\w+)\n(string<uuid> \| null|string<date-time> \| null|string<uuid>|string|object)\n",
            response,
            re.MULTILINE,
        )
    )
    contract = load_contract()
    assert list(documented) == list(contract.required) == list(contract.fields)
    for name, doc_type in documented.items():
        field = contract.fields[name]
        assert field.nullable == doc_type.endswith("| null"), name
        assert ("object" in field.types) == (doc_type == "object"), name
        assert field.format == {"uuid": "uuid", "date-time": "date-time"}.get(
            doc_type.partition("<")[2].partition(">")[0]
        ), name


def test_doc_example_validates_against_the_job_schema(spec):
    media = spec["paths"]["/jobs/{jobId}"]["get"]["responses"]["200"]["content"]["application/json"]
    schema = {**media["schema"], "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(media["example"])
    broken = {**media["example"], "jobConfigJson": "{}"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)


def test_catalogue_has_exactly_the_issues_ids_and_severities():
    requirements = load_contract().requirements
    assert {r.id: r.severity for r in requirements} == CATALOGUE
    assert all(r.title and r.source and r.checks for r in requirements)


def test_catalogue_refuses_duplicates_and_bad_severities(tmp_path):
    from jobs_conformance.errors import UsageError

    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "openapi.yaml").write_text((default_spec_dir() / "openapi.yaml").read_text())
    entry = {
        "id": "x",
        "title": "t",
        "severity": "may",
        "source": "s",
        "checks": "c",
        "applies": "always",
    }
    (spec_dir / "requirements.yaml").write_text(yaml.safe_dump({"requirements": [entry]}))
    with pytest.raises(UsageError, match="severity"):
        load_contract(spec_dir)
    entry["severity"] = "must"
    (spec_dir / "requirements.yaml").write_text(yaml.safe_dump({"requirements": [entry, entry]}))
    with pytest.raises(UsageError, match="unique"):
        load_contract(spec_dir)


def test_root_causes_name_catalogue_requirements_and_form_no_cycle(tmp_path):
    owned = load_contract().root_causes
    assert "http.unknown-404" in owned["http.id-echo"]
    assert owned["http.malformed-4xx"] == {r.id for r in load_contract().requirements} - {
        "http.malformed-4xx"
    }
    for root_causes in (
        {"http.nope": ["body.json"]},
        {"body.json": ["body.types"], "body.types": ["body.json"]},
    ):
        spec = tmp_path / str(len(list(tmp_path.iterdir())))
        shutil.copytree(default_spec_dir(), spec)
        catalogue = yaml.safe_load((spec / "requirements.yaml").read_text())
        catalogue["root_causes"] = root_causes
        (spec / "requirements.yaml").write_text(yaml.safe_dump(catalogue))
        with pytest.raises(UsageError, match="root_causes"):
            load_contract(spec)
