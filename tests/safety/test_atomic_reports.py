"""Reports are written to a temporary file and renamed into place."""

from __future__ import annotations

import os

import pytest

from jobs_conformance.report import write_atomic


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    path = tmp_path / "conformance.json"
    write_atomic(path, b'{"verdict": "pass"}')

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b'{"verdict": "fail", "half": ')
    assert path.read_bytes() == b'{"verdict": "pass"}'
    assert [p.name for p in tmp_path.iterdir()] == ["conformance.json"]


def test_readers_never_see_a_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "junit.xml"
    seen_during_write = []
    real_replace = os.replace

    def observe(source, destination):
        seen_during_write.append(path.exists())
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", observe)
    write_atomic(path, b"<testsuite/>")
    assert seen_during_write == [False]
    assert path.read_bytes() == b"<testsuite/>"
