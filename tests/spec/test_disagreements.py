"""spec/disagreements.yaml (rendered into reports) and spec/README.md say the same, and the
oracle agrees with what each row claims about the pattern and RFC 3339."""

from __future__ import annotations

import yaml

from jobs_conformance.contract import default_spec_dir, load_contract
from jobs_conformance.instants import is_rfc3339_datetime


def _rows():
    return yaml.safe_load((default_spec_dir() / "disagreements.yaml").read_text(encoding="utf-8"))[
        "disagreements"
    ]


def test_readme_lists_every_disagreement():
    readme = (default_spec_dir() / "README.md").read_text(encoding="utf-8")
    for row in _rows():
        assert f"`{row['value']}`" in readme, row["value"]


def test_each_row_is_true_of_the_oracle():
    contract = load_contract()
    for row in _rows():
        value = row["value"].replace("\\n", "\n")
        is_uuid = len(value) == 36 and value.count("-") == 4 and "T" not in value
        pattern = contract.uuid_pattern if is_uuid else contract.datetime_pattern
        assert pattern.search(value) == row["pattern"].startswith("valid"), row
        if not is_uuid:
            assert is_rfc3339_datetime(value) == row["rfc"].startswith("valid"), row
