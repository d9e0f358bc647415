#!/usr/bin/env bash
# The oldest supported versions, installed and run. For each set of pins
# (.ci/oldest-core.txt: the core install; .ci/oldest-schemathesis.txt: the
# schemathesis extra) it makes a fresh virtualenv in a temporary directory,
# installs the package built from the tracked files (not editable) with the
# pins as pip constraints, checks that pip installed exactly those versions,
# runs `jobs-conformance run` (with --schemathesis for the extra) from an empty
# directory against the embedded reference server, and requires exit 0, a
# reports/conformance.json whose verdict and every requirement are "pass",
# and, for the extra, schemathesis's two tests passed in reports/junit.xml.
# One line per set; exits non-zero if either fails. Needs PyPI (pip).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python}"
work="$(mktemp -d "${TMPDIR:-/tmp}/jobs-conformance-oldest.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Nothing from the calling shell reaches the runs: no path onto the checkout,
# no pytest options meant for the project's own tests.
unset PYTHONPATH PYTEST_ADDOPTS PYTEST_PLUGINS PYTEST_BASE_URL HYPOTHESIS_STORAGE_DIRECTORY
unset "${!JOBS_CONFORMANCE_@}"

log() { cat >>"$work/$1.log"; }

# One wheel from the tracked files, built once for both sets (an in-tree
# build would leave build/ in the checkout).
mkdir "$work/src" "$work/dist"
git -C "$repo" ls-files -z | xargs -0 tar -C "$repo" -cf - | tar -C "$work/src" -xf -
if ! "$python" -m pip wheel --no-deps -w "$work/dist" "$work/src" >"$work/build.log" 2>&1; then
  tail -n 30 "$work/build.log" >&2
  echo "oldest versions: FAIL (the wheel did not build)"
  exit 1
fi
wheel="$(ls "$work"/dist/jobs_conformance-*.whl)"

# check_set NAME CONSTRAINTS EXTRA JUNIT_TESTS... -- RUN_ARGS...
check_set() {
  local name=$1 constraints=$2 extra=$3
  shift 3
  local tests=()
  while [ "$1" != "--" ]; do tests+=("$1"); shift; done
  shift
  local venv="$work/venv-$name" rundir="$work/run-$name" pins rc=0 status=FAIL
  pins="$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's/==/ /' "$constraints" | paste -sd, - | sed 's/,/, /g')"
  mkdir "$rundir"
  if "$python" -m venv "$venv" 2>&1 | log "$name" \
    && "$venv/bin/python" -m pip install -c "$constraints" "$wheel$extra" 2>&1 | log "$name" \
    && "$venv/bin/python" - "$constraints" <<'PY' 2>&1 | log "$name"
import sys
from importlib.metadata import version

wrong = []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#")[0].strip()
    if line:
        name, pinned = line.split("==")
        if version(name) != pinned:
            wrong.append(f"{name} {version(name)} installed, {pinned} pinned")
print("installed as pinned" if not wrong else "\n".join(wrong))
sys.exit(1 if wrong else 0)
PY
  then
    (cd "$rundir" && "$venv/bin/jobs-conformance" run "$@") >>"$work/$name.log" 2>&1 || rc=$?
    echo "jobs-conformance run${*:+ $*}: exit $rc" | log "$name"
    if [ "$rc" = 0 ] && "$venv/bin/python" - "$rundir/reports" "${tests[@]}" <<'PY' 2>&1 | log "$name"
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

reports = Path(sys.argv[1])
record = json.loads((reports / "conformance.json").read_text(encoding="utf-8"))
problems = [f"verdict {record['verdict']!r}"] if record["verdict"] != "pass" else []
problems += [
    f"{r['id']}: {r['status']} ({r['reason']})"
    for r in record["requirements"]
    if r["status"] != "pass"
]
if not record["requirements"]:
    problems.append("no requirements in the record")
cases = {case.get("name"): case for case in ET.parse(reports / "junit.xml").iter("testcase")}
for test in sys.argv[2:]:
    if test not in cases:
        problems.append(f"{test}: not in junit.xml")
    elif any(child.tag in ("failure", "error", "skipped") for child in cases[test]):
        problems.append(f"{test}: did not pass")
print("\n".join(problems) or f"verdict pass, {len(record['requirements'])} requirements pass")
sys.exit(1 if problems else 0)
PY
    then
      status=PASS
    fi
  fi
  echo "oldest versions ($name: $pins): $status"
  if [ "$status" != PASS ]; then
    # (pip's notes on index locations that do not exist here left out)
    grep -v 'is ignored: it is neither' "$work/$name.log" | tail -n 40 | sed 's/^/    /' >&2
    return 1
  fi
}

failed=0
check_set core "$repo/.ci/oldest-core.txt" "" -- || failed=1
check_set schemathesis "$repo/.ci/oldest-schemathesis.txt" "[schemathesis]" \
  test_schema_positive test_schema_negative -- --schemathesis || failed=1
exit "$failed"
