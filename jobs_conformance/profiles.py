"""Hypothesis profiles of the contract suite: registered by name, applied to the contract tests only.

A conformance session never loads a profile globally: the project's own
property tests, in a session that also runs the contract suite, keep their
settings. Each contract test takes :func:`contract_settings`, whose parent
is the profile the run selected.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

__all__ = ["PROFILE_NAMES", "contract_settings", "derandomized", "select", "selected"]

# Every example is a request to the target: no "explain" phase (it replays
# examples to annotate a failure) and one bug per test (hunting distinct bugs
# means shrinking each), so a failing target costs few extra requests. No
# example database: nothing is written, and a gate must not replay
# yesterday's examples into today's verdict.
_COMMON = dict(
    deadline=None,
    database=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# A CI gate that flips between runs is worse than none: `ci` is derandomized,
# so the same code gives the same verdict.
PROFILE_NAMES = {"ci": "jobs-conformance-ci", "thorough": "jobs-conformance-thorough"}
settings.register_profile(PROFILE_NAMES["ci"], derandomize=True, max_examples=30, **_COMMON)
# Every setting that decides a run is given: where CI is set, Hypothesis
# loads a "ci" profile of its own, from which an unset one would be taken.
settings.register_profile(
    PROFILE_NAMES["thorough"], derandomize=False, max_examples=1000, **_COMMON
)

_selected = "ci"


def select(profile: str) -> None:
    """Make ``profile`` (``ci`` or ``thorough``) the parent of contract tests imported from now on."""
    global _selected
    if profile not in PROFILE_NAMES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILE_NAMES)}")
    _selected = profile


def selected() -> str:
    return _selected


def derandomized() -> bool:
    return bool(settings.get_profile(PROFILE_NAMES[_selected]).derandomize)


def contract_settings(**overrides: object) -> settings:
    """The selected profile, with ``overrides`` (``max_examples``, say)."""
    return settings(settings.get_profile(PROFILE_NAMES[_selected]), **overrides)  # type: ignore[arg-type]
