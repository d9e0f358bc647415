"""The fault catalogue as data: it covers every requirement, and its entries are well formed.

That each fault is caught, under its labelled requirements, and that each
variant passes, is proven once, by whole runs of the suite
(tests/run/test_self_test.py). Probing each fault here with the oracle too
would prove the same thing a second time, one level down.
"""

from __future__ import annotations

import pytest

from jobs_conformance.contract import load_contract
from jobs_conformance.errors import UsageError
from jobs_conformance.reference.faults import FAULTS, VARIANTS, lookup_behaviour
from jobs_conformance.reference.server import resolve_behaviours

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
