"""The contract: the OpenAPI document and the requirement catalogue, read once.

Everything the oracle knows about the endpoint comes from ``spec/``: required
fields, JSON types, nullability and the ECMA-262 patterns. Nothing here
restates them, so a change to the spec changes every check.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib.resources
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jobs_conformance.ecma import EcmaPattern, EcmaSyntaxError, compile_ecma
from jobs_conformance.errors import UsageError

__all__ = [
    "APPLIES",
    "SEVERITIES",
    "Contract",
    "FieldSpec",
    "Requirement",
    "contract_tests_dir",
    "counts",
    "default_spec_dir",
    "load_contract",
    "spec_data",
]

SEVERITIES = ("must", "should")
APPLIES = ("always", "known-job", "credentials", "seeding")
_REQUIREMENT_KEYS = {"id", "title", "severity", "source", "checks", "applies"}
SPEC_DIR_ENV = "JOBS_CONFORMANCE_SPEC_DIR"


def counts(severity: str, *, strict: bool) -> bool:
    """Whether a failure of this severity fails the run: must always, should under ``strict``."""
    return severity == "must" or strict


@dataclass(frozen=True)
class Requirement:
    """One entry of ``spec/requirements.yaml``."""

    id: str
    title: str
    severity: str
    source: str
    checks: str
    applies: str


@dataclass(frozen=True)
class FieldSpec:
    """What the spec says of one Job member."""

    name: str
    types: frozenset[str]
    format: str | None
    pattern: EcmaPattern | None

    @property
    def nullable(self) -> bool:
        return "null" in self.types


@dataclass(frozen=True)
class Contract:
    """The spec and catalogue, parsed and compiled."""

    spec: Mapping[str, Any]
    spec_sha256: str
    requirements: tuple[Requirement, ...]
    fields: Mapping[str, FieldSpec]
    required: tuple[str, ...]
    path_pattern: EcmaPattern
    uuid_pattern: EcmaPattern
    datetime_pattern: EcmaPattern
    job_schema: Mapping[str, Any]
    # requirement id -> the requirements it owns when one exchange breaks both
    # (the catalogue's root_causes, with '*' names expanded), and those it
    # owns only in the same member (root_causes_per_field).
    root_causes: Mapping[str, frozenset[str]]
    root_causes_per_field: Mapping[str, frozenset[str]]

    @functools.cached_property
    def _by_id(self) -> Mapping[str, Requirement]:
        return {requirement.id: requirement for requirement in self.requirements}

    def requirement(self, requirement_id: str) -> Requirement:
        """The catalogue entry ``requirement_id`` (KeyError if there is none)."""
        return self._by_id[requirement_id]

    @functools.cached_property
    def _by_format(self) -> Mapping[str | None, tuple[str, ...]]:
        by_format: dict[str | None, tuple[str, ...]] = {}
        for name, spec in self.fields.items():
            by_format[spec.format] = (*by_format.get(spec.format, ()), name)
        return by_format

    def fields_with_format(self, fmt: str) -> tuple[str, ...]:
        """The members of format ``fmt``, in the spec's order (listed once: every body asks)."""
        return self._by_format.get(fmt, ())


def contract_tests_dir() -> Path:
    """The contract suite: ``jobs_conformance.contract_tests`` (``tests/contract`` in a checkout)."""
    return _package_dir("jobs_conformance.contract_tests")


def default_spec_dir() -> Path:
    """``$JOBS_CONFORMANCE_SPEC_DIR``, else the spec shipped in the package (``spec/`` in a checkout)."""
    configured = os.environ.get(SPEC_DIR_ENV)
    return Path(configured) if configured else _package_dir("jobs_conformance.spec")


def _package_dir(name: str) -> Path:
    # Through the import system, not a path beside this file: an editable
    # install maps these packages onto the checkout's own folders.
    return Path(str(importlib.resources.files(name)))


@functools.lru_cache(maxsize=4)
def load_contract(spec_dir: Path | None = None) -> Contract:
    """Read ``openapi.yaml`` and ``requirements.yaml`` from ``spec_dir`` (cached)."""
    spec_dir = spec_dir or default_spec_dir()
    spec_bytes = _read(spec_dir / "openapi.yaml")
    spec = _yaml(spec_dir / "openapi.yaml", spec_bytes)
    catalogue = spec_data("requirements.yaml", spec_dir)
    try:
        operation = spec["paths"]["/jobs/{jobId}"]["get"]
        path_schema = operation["parameters"][0]["schema"]
        job_schema = _resolve(
            spec, operation["responses"]["200"]["content"]["application/json"]["schema"]
        )
        fields = {
            name: _field(spec, name, schema) for name, schema in job_schema["properties"].items()
        }
        required = tuple(job_schema["required"])
    except (KeyError, IndexError, TypeError) as exc:
        raise UsageError(
            "spec",
            str(spec_dir / "openapi.yaml"),
            f"GET /jobs/{{jobId}} with a Job schema ({exc!r})",
        ) from exc
    uuid_patterns = {f.pattern.source for f in fields.values() if f.format == "uuid" and f.pattern}
    datetime_patterns = {
        f.pattern.source for f in fields.values() if f.format == "date-time" and f.pattern
    }
    if len(uuid_patterns) != 1 or len(datetime_patterns) != 1:
        raise UsageError(
            "spec", str(spec_dir / "openapi.yaml"), "one UUID pattern and one date-time pattern"
        )
    requirements = _requirements(spec_dir / "requirements.yaml", catalogue)
    return Contract(
        spec=spec,
        spec_sha256=hashlib.sha256(spec_bytes).hexdigest(),
        requirements=requirements,
        fields=fields,
        required=required,
        path_pattern=_compile(path_schema["pattern"]),
        uuid_pattern=_compile(uuid_patterns.pop()),
        datetime_pattern=_compile(datetime_patterns.pop()),
        job_schema=job_schema,
        **_root_causes(spec_dir / "requirements.yaml", catalogue, [r.id for r in requirements]),
    )


def spec_data(name: str, spec_dir: Path | None = None) -> Any:
    """A YAML file of ``spec/`` (``disagreements.yaml``, say), parsed; a UsageError if unreadable."""
    path = (spec_dir or default_spec_dir()) / name
    return _yaml(path, _read(path))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError("spec", str(path), f"a readable file ({exc.strerror})") from exc


# libyaml's safe loader when PyYAML was built with it: ten times faster than the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml(path: Path, data: bytes) -> Any:
    try:
        return yaml.load(data, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise UsageError("spec", str(path), f"valid YAML ({exc})") from exc


def _compile(pattern: str) -> EcmaPattern:
    try:
        return compile_ecma(pattern)
    except EcmaSyntaxError as exc:
        raise UsageError(
            "pattern", pattern, f"an ECMA-262 regular expression ({exc.reason})"
        ) from exc


def _resolve(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _field(spec: Mapping[str, Any], name: str, schema: Mapping[str, Any]) -> FieldSpec:
    schema = _resolve(spec, schema)
    types = schema["type"]
    return FieldSpec(
        name=name,
        types=frozenset([types] if isinstance(types, str) else types),
        format=schema.get("format"),
        pattern=_compile(schema["pattern"]) if "pattern" in schema else None,
    )


def _requirements(path: Path, catalogue: Any) -> tuple[Requirement, ...]:
    entries = catalogue.get("requirements") if isinstance(catalogue, dict) else None
    if not isinstance(entries, list):
        raise UsageError("catalogue", str(path), "a mapping with a 'requirements' list")
    seen: set[str] = set()
    requirements = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != _REQUIREMENT_KEYS:
            raise UsageError(
                "catalogue entry", entry, f"exactly the keys {sorted(_REQUIREMENT_KEYS)}"
            )
        requirement = Requirement(**{key: str(entry[key]) for key in _REQUIREMENT_KEYS})
        if requirement.id in seen:
            raise UsageError("catalogue entry", requirement.id, "a unique id")
        if requirement.severity not in SEVERITIES:
            raise UsageError(
                f"{requirement.id}.severity", requirement.severity, " or ".join(SEVERITIES)
            )
        if requirement.applies not in APPLIES:
            raise UsageError(f"{requirement.id}.applies", requirement.applies, ", ".join(APPLIES))
        seen.add(requirement.id)
        requirements.append(requirement)
    return tuple(requirements)


def _root_causes(path: Path, catalogue: Any, ids: list[str]) -> dict[str, Any]:
    """``root_causes`` and ``root_causes_per_field``, every name matched against the catalogue."""
    sections = {}
    for key in ("root_causes", "root_causes_per_field"):
        entries = catalogue.get(key, {}) if isinstance(catalogue, dict) else None
        if not isinstance(entries, dict):
            raise UsageError(key, str(path), "a mapping of requirement ids to lists of ids")
        sections[key] = _owned(key, entries, ids)
    # A cycle would let two requirements each fold the other away.
    edges = {
        owner: set(sections["root_causes"].get(owner, ()))
        | set(sections["root_causes_per_field"].get(owner, ()))
        for owner in ids
    }
    for start in ids:
        reached, frontier = set(), set(edges[start])
        while frontier:
            reached |= frontier
            frontier = {t for r in frontier for t in edges[r]} - reached
        if start in reached:
            raise UsageError("root_causes", start, "no cycle: a requirement cannot own itself")
    return sections


def _owned(key: str, entries: Mapping[Any, Any], ids: list[str]) -> dict[str, frozenset[str]]:
    def matching(name: Any) -> list[str]:
        found = fnmatch.filter(ids, name) if isinstance(name, str) else []
        if not found:
            raise UsageError(key, name, "a requirement id (or a '*' pattern) of the catalogue")
        return found

    owned: dict[str, set[str]] = {}
    for owner, names in entries.items():
        if not isinstance(names, list):
            raise UsageError(f"{key}.{owner}", names, "a list of requirement ids")
        targets = {target for name in names for target in matching(name)}
        for requirement in matching(owner):
            owned.setdefault(requirement, set()).update(targets - {requirement})
    return {owner: frozenset(targets) for owner, targets in owned.items()}
