"""Settings resolve once, one way: option, then environment, then ini, then the table's default."""

from __future__ import annotations

import pytest

from jobs_conformance.errors import UsageError
from jobs_conformance.settings import OPTIONS, Settings, option, parse_header, resolve

HELD = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
OTHER = "0193a7c2-5e4f-7a1b-9c2d-3e4f5a6b7c8d"


def _resolve(given=None, *, environ=None, ini=None, **kwargs) -> Settings:
    """resolve() with nothing taken from this process's environment unless given."""
    table = ini or {}
    return resolve(
        given or {},
        environ=environ or {},
        ini=lambda entry: table.get(entry.ini),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("given", "env", "ini", "expected"),
    [
        ({"timeout": "3"}, {"JOBS_CONFORMANCE_TIMEOUT": "4"}, {"jobs_conformance_timeout": "5"}, 3),
        ({}, {"JOBS_CONFORMANCE_TIMEOUT": "4"}, {"jobs_conformance_timeout": "5"}, 4),
        ({}, {}, {"jobs_conformance_timeout": "5"}, 5),
        ({}, {}, {}, option("timeout").default),
    ],
    ids=["option", "environment", "ini", "default"],
)
def test_a_scalar_takes_option_then_environment_then_ini_then_default(given, env, ini, expected):
    assert _resolve(given, environ=env, ini=ini).timeout == expected


@pytest.mark.parametrize(
    ("given", "env", "ini", "expected"),
    [
        ({"strict": True}, {}, {}, True),
        ({}, {"JOBS_CONFORMANCE_STRICT": "yes"}, {}, True),
        ({}, {"JOBS_CONFORMANCE_STRICT": "0"}, {"jobs_conformance_strict": "true"}, False),
        ({}, {}, {"jobs_conformance_strict": "on"}, True),
        ({}, {}, {"jobs_conformance_strict": "no"}, False),
        ({}, {}, {}, False),
    ],
    ids=["option", "environment", "env-off-beats-ini-on", "ini", "ini-off", "default"],
)
def test_a_flag_takes_option_then_environment_then_ini_then_default(given, env, ini, expected):
    assert _resolve(given, environ=env, ini=ini).strict is expected


@pytest.mark.parametrize(
    ("env", "ini", "named"),
    [
        ({"JOBS_CONFORMANCE_STRICT": "maybe"}, {}, "JOBS_CONFORMANCE_STRICT"),
        ({}, {"jobs_conformance_strict": "ture"}, "ini jobs_conformance_strict"),
    ],
    ids=["environment", "ini"],
)
def test_a_flag_that_is_neither_on_nor_off_is_a_usage_error(env, ini, named):
    # Read as off, a typo would turn a gate's strictness off without a word.
    with pytest.raises(UsageError, match=named):
        _resolve(environ=env, ini=ini)


def test_a_list_adds_the_environment_to_the_command_line():
    settings = _resolve(
        {"job_id": [HELD]}, environ={"JOBS_CONFORMANCE_JOB_IDS": f"{OTHER}, {HELD}"}
    )
    # Duplicates collapse, the command line's first.
    assert settings.job_ids == (HELD, OTHER)


def test_a_list_from_the_ini_is_used_only_without_option_or_environment():
    ini = {"jobs_conformance_job_id": [OTHER]}
    assert _resolve(ini=ini).job_ids == (OTHER,)
    assert _resolve({"job_id": [HELD]}, ini=ini).job_ids == (HELD,)
    assert _resolve(environ={"JOBS_CONFORMANCE_JOB_IDS": HELD}, ini=ini).job_ids == (HELD,)


def test_headers_from_the_environment_are_one_per_line_and_added_to_the_command_line():
    settings = _resolve(
        {"header": ["X-Trace: on"]},
        environ={"JOBS_CONFORMANCE_HEADERS": "X-Api-Key: k1\n\nAuthorization: Bearer t:2\n"},
    )
    assert dict(settings.headers) == {
        "X-Trace": "on",
        "X-Api-Key": "k1",
        "Authorization": "Bearer t:2",
    }


@pytest.mark.parametrize(
    "text",
    [
        "X-Api-Key secret-7d1",
        "Bad Name: secret-7d1",
        ": secret-7d1",
        # RFC 9110 section 5.5: no control character in a value (a pasted token split in two).
        "X-Api-Key: secret-\n7d1",
        "X-Api-Key: secret-\x017d1",
        "X-Api-Key: secret-7d1\x7f",
    ],
)
def test_a_malformed_header_is_a_usage_error_that_hides_the_value(text):
    with pytest.raises(UsageError) as raised:
        parse_header(text)
    assert raised.value.argument == "--header"
    # Not even without a colon: the text may be the token itself.
    assert "secret-7d1" not in str(raised.value)


def test_the_defaults_are_the_tables():
    settings = _resolve()
    for entry in OPTIONS:
        if entry.default is None or entry.name == "cache-dir":
            continue
        value = getattr(settings, entry.dest)
        assert str(value) == str(entry.default), entry.name
    assert settings.base_url is None and settings.job_ids == () and dict(settings.headers) == {}


BAD = [
    ("timeout", "abc"),
    ("timeout", "0"),
    ("timeout", "nan"),
    ("max_requests", "0"),
    ("workers", "1000"),
    ("rate_limit", "-1"),
    ("max_body_bytes", "12"),
    ("base_url", "ftp://example.com"),
    ("seed_url", "not a url"),
    ("profile", "fast"),
    ("ca_bundle", "/nonexistent/ca.pem"),
    ("job_ids_file", "/nonexistent/ids.txt"),
]


@pytest.mark.parametrize(("dest", "value"), BAD)
@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        (lambda o: o.cli_flag, lambda o: o.cli_flag),
        (lambda o: o.pytest_flag, lambda o: o.pytest_flag),
    ],
    ids=["cli", "pytest"],
)
def test_a_bad_option_names_itself_as_the_user_spelt_it(dest, value, spelling, expected):
    entry = next(o for o in OPTIONS if o.dest == dest)
    with pytest.raises(UsageError) as raised:
        _resolve({dest: value}, spelling=spelling)
    assert raised.value.argument == expected(entry)
    assert repr(value) in str(raised.value) or value in str(raised.value)


@pytest.mark.parametrize(("dest", "value"), BAD)
def test_a_bad_environment_value_names_the_variable(dest, value):
    entry = next(o for o in OPTIONS if o.dest == dest)
    with pytest.raises(UsageError) as raised:
        _resolve(environ={entry.env: value})
    assert raised.value.argument == entry.env


@pytest.mark.parametrize(("dest", "value"), BAD)
def test_a_bad_ini_value_names_the_key(dest, value):
    entry = next(o for o in OPTIONS if o.dest == dest)
    with pytest.raises(UsageError) as raised:
        _resolve(ini={entry.ini: value})
    assert raised.value.argument == f"ini {entry.ini}"


@pytest.mark.parametrize("job_id", ["not-a-uuid", HELD + "\n", "{" + HELD + "}"])
def test_a_job_id_that_does_not_match_the_documented_pattern_is_refused(job_id):
    with pytest.raises(UsageError) as raised:
        _resolve({"job_id": [job_id]}, spelling=lambda o: o.cli_flag)
    assert raised.value.argument == "--job-id"


def test_a_job_ids_file_skips_comments_and_blank_lines(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text(f"# held by staging\n{HELD}\n\n  {OTHER}  \n", encoding="utf-8")
    assert _resolve({"job_ids_file": str(path), "job_id": [HELD]}).job_ids == (HELD, OTHER)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("JOBS_CONFORMANCE_JOB_IDS", "nope"), ("JOBS_CONFORMANCE_HEADERS", "no colon")],
)
def test_a_bad_list_value_from_the_environment_is_named_by_its_variable(variable, value):
    # The user never wrote --job-id or --header: the message must lead to the variable.
    with pytest.raises(UsageError) as raised:
        _resolve(environ={variable: value}, spelling=lambda o: o.cli_flag)
    assert raised.value.argument == variable


def test_every_option_has_four_distinct_spellings_from_its_name():
    for entry in OPTIONS:
        if entry.foreign:
            assert (entry.pytest_flag, entry.ini) == ("--base-url", "base_url")
            continue
        assert entry.pytest_flag == "--conformance-" + entry.name
        assert entry.env.startswith("JOBS_CONFORMANCE_")
        assert entry.ini == "jobs_conformance_" + entry.dest
        assert entry.cli_flag.startswith("--") and entry.described.startswith(entry.help)
    flags = [o.cli_flag for o in OPTIONS]
    assert len(set(flags)) == len(flags)


def test_insecure_turns_verification_off_and_a_ca_bundle_is_used_otherwise(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert _resolve().verify is True
    assert _resolve({"ca_bundle": str(bundle)}).verify == str(bundle)
    assert _resolve({"ca_bundle": str(bundle), "insecure": True}).verify is False


def test_cache_dir_off_means_a_temporary_folder(tmp_path):
    assert _resolve({"cache_dir": "off"}).cache_dir is None
    assert _resolve({"cache_dir": str(tmp_path)}).cache_dir == tmp_path


def test_auth_header_names_a_header_that_is_sent_in_any_case():
    settings = _resolve(
        {"header": ["X-Api-Key: k", "X-Request-Id: r"], "auth_header": ["x-api-key"]}
    )
    assert settings.auth_headers == ("X-Api-Key",)
    assert _resolve({"header": ["X-Api-Key: k"]}).auth_headers == ()
    basic = _resolve({"base_url": "http://u:p@h/api/v2", "auth_header": ["Authorization"]})
    assert basic.auth_headers == ("Authorization",)


@pytest.mark.parametrize(
    ("given", "environ", "named"),
    [
        ({"auth_header": ["X-Api-Key"]}, {}, "--auth-header"),
        ({"header": ["X-Request-Id: r"], "auth_header": ["X-Api-Key"]}, {}, "--auth-header"),
        ({}, {"JOBS_CONFORMANCE_AUTH_HEADERS": "X-Api-Key"}, "JOBS_CONFORMANCE_AUTH_HEADERS"),
    ],
)
def test_an_auth_header_that_is_not_sent_is_a_usage_error_naming_where_it_came_from(
    given, environ, named
):
    with pytest.raises(UsageError) as raised:
        _resolve(given, environ=environ, spelling=lambda o: o.cli_flag)
    assert raised.value.argument == named
    assert "--header" in str(raised.value)


def test_the_gate_options_resolve_and_refuse_what_makes_no_sense(tmp_path):
    baseline = tmp_path / "old.json"
    baseline.write_text("{}")
    settings = _resolve({"baseline": str(baseline), "fail_on": "new", "confirm": "0"})
    assert (settings.baseline, settings.fail_on, settings.confirm) == (baseline, "new", 0)
    assert (settings.waivers.name, settings.waivers_explicit) == ("conformance-waivers.toml", False)
    for given, named in (
        ({"fail_on": "new"}, "--fail-on"),  # new since what?
        ({"expect_version": "1.2"}, "--expect-version"),  # named in which header?
        ({"baseline": str(tmp_path / "missing.json")}, "--baseline"),
        ({"confirm": "21"}, "--confirm"),
        ({"flaky": "ignore"}, "--flaky"),
    ):
        with pytest.raises(UsageError) as raised:
            _resolve(given, spelling=lambda o: o.cli_flag)
        assert raised.value.argument == named


@pytest.mark.parametrize("text", ["1e400", "inf", "-inf", "nan"])
def test_a_number_that_is_not_finite_is_a_usage_error(text):
    # 1e400 reads as infinity: a timeout of it failed every request ("timestamp out of range").
    with pytest.raises(UsageError, match="timeout"):
        _resolve({"timeout": text})
