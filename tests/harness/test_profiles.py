"""Hypothesis profiles: registered by name, applied to contract tests only, never loaded globally."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import settings

from jobs_conformance import profiles
from jobs_conformance.settings import PROFILES


@pytest.fixture
def restore_selection():
    before = profiles.selected()
    yield
    profiles.select(before)


@pytest.mark.parametrize("name", sorted(profiles.PROFILE_NAMES))
def test_contract_settings_derive_from_the_selected_profile(restore_selection, name):
    profiles.select(name)
    registered = settings.get_profile(profiles.PROFILE_NAMES[name])
    derived = profiles.contract_settings()
    assert profiles.selected() == name
    assert derived.max_examples == registered.max_examples
    assert derived.derandomize == registered.derandomize == profiles.derandomized()
    assert derived.database is None and derived.deadline is None
    assert profiles.contract_settings(max_examples=3).max_examples == 3


def test_the_two_profiles_differ_as_documented():
    ci = settings.get_profile(profiles.PROFILE_NAMES["ci"])
    thorough = settings.get_profile(profiles.PROFILE_NAMES["thorough"])
    # The README's and the options' help: ci is derandomized with 30
    # examples per property, thorough random with 1000.
    assert ci.derandomize and not thorough.derandomize
    assert (ci.max_examples, thorough.max_examples) == (30, 1000)


def test_the_options_offer_exactly_the_registered_profiles():
    assert set(PROFILES) == set(profiles.PROFILE_NAMES)


def test_an_unknown_profile_is_refused_and_the_selection_kept(restore_selection):
    profiles.select("ci")
    with pytest.raises(ValueError, match="fast"):
        profiles.select("fast")
    assert profiles.selected() == "ci"


def test_importing_the_profiles_loads_none_of_them(restore_selection):
    # This session's root conftest loads the ci profile on purpose: start from
    # Hypothesis's own default, so loading either profile would show.
    current = settings.get_current_profile_name()
    settings.load_profile("default")
    try:
        importlib.reload(profiles)
        assert settings.get_current_profile_name() == "default"
    finally:
        settings.load_profile(current)
