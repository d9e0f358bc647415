"""The fault catalogue as data: it covers every requirement, and its entries are well formed.

That each fault is caught, under its labelled requirements, and that each
variant passes, is proven once, by whole runs of the suite
(tests/run/test_self_test.py). Probing each fault here with the oracle too
would prove the same thing a second time, one level down.
"""

from __future__ import annotations

import pytest

from jobs_conformance.contract import load_contract, spec_data
from jobs_conformance.errors import UsageError
from jobs_conformance.reference.faults import FAULTS, VARIANTS, lookup_behaviour
from jobs_conformance.reference.server import resolve_behaviours
from jobs_conformance.strategies.uuids import NEAR_MISS_KINDS, NIL_UUID, near_miss

CATALOGUE = {r.id for r in load_contract().requirements}
# What a behaviour may need from a run beyond the reference's defaults.
NEEDS = {"credentials", "seeding"}


def test_the_faults_cover_every_requirement():
    covered = set().union(*(fault.requirements for fault in FAULTS.values()))
    assert covered == CATALOGUE


@pytest.mark.parametrize("behaviour", [*FAULTS.values(), *VARIANTS.values()], ids=lambda b: b.name)
def test_each_behaviour_is_named_summarised_and_labelled_with_catalogue_ids(behaviour):
    assert behaviour.summary
    assert behaviour.needs <= NEEDS
    if behaviour.name in FAULTS:
        assert behaviour.requirements and behaviour.requirements <= CATALOGUE
    else:
        assert behaviour.requirements == frozenset()


def test_faults_and_variants_have_distinct_names_found_by_lookup():
    assert not set(FAULTS) & set(VARIANTS)
    for name in [*FAULTS, *VARIANTS]:
        assert lookup_behaviour(name).name == name
    with pytest.raises(KeyError):
        lookup_behaviour("no-such-behaviour")


def test_an_unknown_behaviour_is_a_usage_error_listing_the_choices():
    with pytest.raises(UsageError) as raised:
        resolve_behaviours(faults=["ts-offsett"])
    assert "--fault" in str(raised.value) and "ts-offset" in str(raised.value)


# --- Lenient parsers: each fault that reproduces one reads exactly the forms
# spec/near-misses.yaml says that parser accepts, as the held id itself.

DOC_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
PARSER_FAULTS = [fault for fault in FAULTS.values() if fault.parser is not None]


def test_faults_reproduce_several_parsers_beyond_pythons():
    others = {f.parser for f in PARSER_FAULTS} - {
        "Python uuid.UUID",
        "pattern whose $ matches before a final newline",
        "strip() before a strict pattern",
    }
    assert len(others) >= 3
    assert all(f.requirements == {"http.malformed-4xx"} for f in PARSER_FAULTS)


@pytest.mark.parametrize("fault", PARSER_FAULTS, ids=lambda f: f.name)
def test_a_parser_fault_accepts_exactly_the_forms_the_survey_lists_for_its_parser(fault):
    listed = {
        entry["kind"]
        for entry in spec_data("near-misses.yaml")["near_misses"]
        if fault.parser in entry["parsers"]
    }
    assert listed, f"{fault.parser!r} is named by no form of spec/near-misses.yaml"
    accepted = {
        kind
        for kind in NEAR_MISS_KINDS
        if (form := near_miss(DOC_ID, kind)) is not None
        and (fault.parse_id(form) or "").lower() == DOC_ID
    }
    assert accepted == listed
    # Lenient, not broken: every well-formed id, in any case, still reads as itself.
    for job_id in (DOC_ID, DOC_ID.upper(), NIL_UUID, "017F22E2-79B0-7CC3-98C4-DC0C0C07398F"):
        assert (fault.parse_id(job_id) or "").lower() == job_id.lower()


def test_the_survey_and_the_builders_list_the_same_forms_with_matching_examples():
    entries = spec_data("near-misses.yaml")["near_misses"]
    assert [e["kind"] for e in entries] == list(NEAR_MISS_KINDS)
    for entry in entries:
        assert near_miss(DOC_ID, entry["kind"]) == entry["example"]
        assert entry["parsers"] and entry["source"]
