"""The reference server's seed corpus: pinned edge cases plus jobs drawn with a fixed seed.

The corpus is deterministic, and ``spec/examples/jobs.json`` holds a copy that
a test keeps equal to what ``python -m jobs_conformance.reference.corpus``
prints. After changing the strategies, regenerate it with
``python -m jobs_conformance.reference.corpus --write``.

Generate it only that way, in a process of its own: Hypothesis (6.131 and
later) biases its draws with literals found in the *local modules loaded at
the time*, so the same seed draws a different corpus inside a pytest run,
where the test modules are loaded too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from jobs_conformance.contract import default_spec_dir
from jobs_conformance.strategies.jobs import jobs
from jobs_conformance.strategies.timestamps import LEAP_DAYS
from jobs_conformance.strategies.uuids import NIL_UUID

__all__ = ["CORPUS_SEED", "build_corpus", "corpus_path", "load_corpus", "pinned_jobs"]

CORPUS_SEED = 20231107
GENERATED = 40  # unique generated jobs kept after the pinned ones
_DRAWS = 400  # Hypothesis repeats small examples, so draw more than are kept


def _uuid(version: int, n: int, variant: str = "8", case: str = "lower") -> str:
    value = f"{n:08x}-{n % 65536:04x}-{version}{n % 4096:03x}-{variant}{(n * 7) % 4096:03x}-{n * 9973:012x}"
    return value.upper() if case == "upper" else value


def pinned_jobs() -> list[dict[str, Any]]:
    """Hand-placed edge cases: every UUID version, leap days, null and nil values, fractions of 0-12 digits."""
    ids = [
        _uuid(1, 0x10, "8"),
        _uuid(2, 0x20, "9", "upper"),
        _uuid(3, 0x30, "a"),
        _uuid(4, 0x40, "b", "upper"),
        _uuid(5, 0x50, "8"),
        _uuid(6, 0x60, "9"),
        "01932C07-209C-7a4B-8C7F-3F6D9E0A1B2C",  # v7, mixed case
        _uuid(8, 0x80, "b"),
    ]
    # Leap days of RFC 3339 appendix C's rule, century boundaries, the ends of
    # the year range, midnight, and 23:59:59.999 (where a rounding bug makes :60).
    timelines: list[tuple[str | None, str | None]] = [
        (f"{LEAP_DAYS[0]}T00:00:00Z", "0000-03-01T00:00Z"),
        ("2000-02-29T12:00:00.5Z", "2024-02-29T23:59:59.999Z"),
        ("2024-02-29T00:00Z", "2028-02-29T08:15:30.123456789012Z"),
        ("2400-02-29T00:00:00Z", None),
        (None, None),
        ("1900-02-28T23:59:59Z", "1900-03-01T00:00:00Z"),
        ("2100-02-28T00:00:00.0Z", "2100-03-01T00:00:00.000000Z"),
        ("0999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999999999Z"),
    ]
    names = [
        "",
        "nightly-build",
        "Zoë's naïve café",
        "数据同步",
        "🚀 deploy",
        "שלום",
        "a\u0301",
        "<b>&amp;</b>",
    ]
    configs: list[dict[str, Any]] = [
        {},
        {"workflowExecutionOrder": []},
        {"workflowExecutionOrder": [ids[0], NIL_UUID, ids[7].upper()]},
        {
            "workflowExecutionOrder": [ids[3]],
            "retries": 3,
            "env": {"REGION": "eu"},
            "tags": ["a", "b"],
        },
        {"timeoutSeconds": 0.5, "nested": {"deep": [1, {"x": None}]}},
        {"workflowExecutionOrder": [ids[6]]},
        {},
        {"workflowExecutionOrder": [ids[1], ids[2]]},
    ]
    pinned = []
    for index, job_id in enumerate(ids):
        created, updated = timelines[index]
        pinned.append(
            {
                "id": job_id,
                "name": names[index],
                "createdAt": created,
                "updatedAt": updated,
                "organizationId": NIL_UUID if index == 2 else _uuid(4, 0x1000 + index, "a"),
                "sourceProvider": ("github", "gitlab", "", "bitbucket")[index % 4],
                "createdByUserId": _uuid(7, 0x2000 + index, "9"),
                "updatedByUserId": None
                if index in (4, 5)
                else NIL_UUID
                if index == 6
                else _uuid(1, 0x3000 + index),
                "jobConfigJson": configs[index],
            }
        )
    # One job per fraction length 0-12: servers that round or truncate
    # fractions show it on exactly these.
    for digits in range(13):
        fraction = "".join(str((digits + i) % 10) for i in range(digits))
        stamp = "2023-11-07T05:31:56" + (f".{fraction}" if digits else "") + "Z"
        pinned.append(
            {
                "id": _uuid(1 + digits % 8, 0x4000 + digits, "89ab"[digits % 4]),
                "name": f"fraction-{digits}",
                "createdAt": stamp,
                "updatedAt": stamp,
                "organizationId": _uuid(4, 0x5000 + digits, "8"),
                "sourceProvider": "github",
                "createdByUserId": _uuid(4, 0x6000 + digits, "b"),
                "updatedByUserId": _uuid(4, 0x7000 + digits, "9"),
                "jobConfigJson": {"workflowExecutionOrder": [_uuid(6, 0x8000 + digits, "a")]},
            }
        )
    return pinned


def _generated(count: int) -> list[dict[str, Any]]:
    drawn: list[dict[str, Any]] = []

    # On the "default" profile, whatever profile the caller loaded.
    @seed(CORPUS_SEED)
    @settings(
        settings.get_profile("default"),
        max_examples=count,
        database=None,
        derandomize=False,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(jobs(allow_missing_seconds=True))
    def collect(job: dict[str, Any]) -> None:
        drawn.append(job)

    collect()
    return drawn


def _spread(job_id: str, salt: int) -> str:
    # Hypothesis draws start near its minimal examples (all-zero payloads),
    # which are also what the suite's unknown-id probes try first. Real ids
    # look random, so each generated id keeps its version, variant and case
    # and takes the rest of its digits from a hash.
    digest = hashlib.sha256(f"{CORPUS_SEED}:{salt}".encode()).hexdigest()
    digits = iter(digest)
    spread = "".join(
        c if c == "-" or i in (14, 19) else next(digits) for i, c in enumerate(job_id.lower())
    )
    if job_id.isupper() or job_id == job_id.upper():
        return spread.upper() if any(c.isupper() for c in job_id) else spread
    return "".join(c.upper() if i % 3 == 0 else c for i, c in enumerate(spread))


def build_corpus() -> list[dict[str, Any]]:
    """The corpus: pinned edge cases, then jobs drawn from ``jobs()`` with :data:`CORPUS_SEED`.

    Ids are unique ignoring case, and never the nil UUID (which the suite uses
    as an unknown id).
    """
    corpus: list[dict[str, Any]] = []
    seen: set[str] = set()
    pinned = pinned_jobs()
    # The nil UUID is a value the suite probes as unknown, never a job id.
    drawn = [job for job in _generated(_DRAWS) if job["id"] != NIL_UUID]
    generated = [{**job, "id": _spread(job["id"], n)} for n, job in enumerate(drawn)]
    for job in pinned + generated:
        key = job["id"].lower()
        if key in seen or key == NIL_UUID:
            continue
        seen.add(key)
        corpus.append(job)
        if len(corpus) == len(pinned) + GENERATED:
            break
    return corpus


def corpus_path() -> Path:
    return default_spec_dir() / "examples" / "jobs.json"


def load_corpus(path: Path | None = None) -> list[dict[str, Any]]:
    """The committed corpus file."""
    return json.loads((path or corpus_path()).read_text(encoding="utf-8"))


def render_corpus(corpus: list[dict[str, Any]]) -> str:
    return json.dumps(corpus, ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate or check spec/examples/jobs.json")
    parser.add_argument("--write", action="store_true", help="write the corpus file")
    args = parser.parse_args()
    text = render_corpus(build_corpus())
    if args.write:
        corpus_path().write_text(text, encoding="utf-8")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
