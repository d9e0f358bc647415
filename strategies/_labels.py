"""The record every "invalid" strategy yields: a value and why it is invalid."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Invalid"]


class Invalid(NamedTuple):
    """An invalid value, the class it belongs to, and the requirements it breaks.

    ``violates`` names the catalogue requirements the value breaks when it is
    put in a job body (a path parameter always breaks the pattern alone).
    """

    value: str
    reason: str
    violates: frozenset[str]
