"""The pytest plugin: Hypothesis profiles for every run of pytest in this project."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# A CI gate that flips between runs is worse than none: `ci` is derandomized
# and keeps no example database, so the same code gives the same verdict.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=60,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")
