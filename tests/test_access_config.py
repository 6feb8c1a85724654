"""insight.access_config: allow-lists, roles and the serve decision, on real settings files and mappings."""

from __future__ import annotations

from pathlib import Path

import pytest

from insight.access_config import (
    AccessPolicy,
    access_policy,
    allowed,
    default_secrets_files,
    is_loopback,
    merged_secrets,
    parse_entries,
    provider_names,
    read_secrets,
    serve_plan,
    signin_problems,
)
from insight.errors import InputError

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 32,
        "client_id": "dashboard", "client_secret": "x", "server_metadata_url":
        "https://login.example.com/.well-known/openid-configuration"}


def test_entries_are_addresses_or_domains_lower_cased_once() -> None:
    assert parse_entries(" Ana@Example.com, @Partner.ORG,,ana@example.com ", where="X") == (
        "ana@example.com", "@partner.org")
    assert parse_entries(["bob@example.com"], where="X") == ("bob@example.com",)
    assert parse_entries(None, where="X") == ()


@pytest.mark.parametrize("bad", ["example.com", "ana@", "@localhost", "a b@example.com", "a@b@example.com"])
def test_a_bad_entry_says_what_an_entry_is(bad: str) -> None:
    with pytest.raises(InputError, match="neither an e-mail address"):
        parse_entries(bad, where="INSIGHT_VIEWERS")


def test_roles_analyst_before_viewer_and_domains_match_whole_domains() -> None:
    policy = AccessPolicy(analysts=("ana@example.com",), viewers=("@example.com",))
    assert policy.role_of("ANA@example.com") == "analyst"
    assert policy.role_of("bob@example.com") == "viewer"
    assert policy.role_of("eve@badexample.com") is None
    assert policy.role_of("eve@example.com.evil.org") is None
    assert policy.role_of(None) is None


@pytest.mark.parametrize(("role", "exports", "expected"), [
    ("analyst", False, {"view": True, "export": True, "upload": True, "train": True}),
    ("viewer", True, {"view": True, "export": True, "upload": False, "train": False}),
    ("viewer", False, {"view": True, "export": False, "upload": False, "train": False}),
    (None, True, {"view": False, "export": False, "upload": False, "train": False}),
])
def test_what_each_role_may_do(role: str | None, exports: bool, expected: dict[str, bool]) -> None:
    policy = AccessPolicy(exports=exports)
    assert {action: allowed(role, action, policy) for action in expected} == expected


def test_an_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        allowed("analyst", "delete", AccessPolicy())


def test_environment_wins_over_the_secrets_table() -> None:
    secrets = {"insight": {"access": {"analysts": ["ana@example.com"], "viewers": ["@example.com"],
                                      "exports": False}}}
    assert access_policy(secrets, {}) == AccessPolicy(("ana@example.com",), ("@example.com",), False)
    env = {"INSIGHT_VIEWERS": "@partner.org", "INSIGHT_EXPORTS": "on"}
    assert access_policy(secrets, env) == AccessPolicy(("ana@example.com",), ("@partner.org",), True)
    with pytest.raises(InputError, match="INSIGHT_EXPORTS must be on or off"):
        access_policy({}, {"INSIGHT_EXPORTS": "maybe"})


def test_signin_problems_name_the_missing_settings() -> None:
    assert signin_problems({}) == ["no [auth] table"]
    assert signin_problems({"auth": AUTH}) == []
    named = {"auth": {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "s",
                      "entra": {"client_id": "c", "client_secret": "x", "server_metadata_url": "u"}}}
    assert signin_problems(named) == [] and provider_names(named) == ("entra",)
    assert provider_names({"auth": AUTH}) == (None,)
    partial = {"auth": {"client_id": "c"}}
    assert signin_problems(partial) == ["[auth] has no redirect_uri", "[auth] has no cookie_secret",
                                        "[auth] has no client_secret", "[auth] has no server_metadata_url"]


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False), ("::", False),
                                                ("10.1.2.3", False), ("dashboard.example.com", False)])
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serve_plan_refuses_beyond_loopback_without_signin() -> None:
    assert serve_plan("127.0.0.1", no_auth=False, secrets={}, env={}).signin is False
    with pytest.raises(InputError, match="refusing to serve on 0.0.0.0 without sign-in.*configure sign-in"):
        serve_plan("0.0.0.0", no_auth=False, secrets={}, env={})
    plan = serve_plan("0.0.0.0", no_auth=True, secrets={}, env={})
    assert not plan.signin and any("WITHOUT SIGN-IN" in w for w in plan.warnings)


def test_serve_plan_with_signin() -> None:
    env = {"INSIGHT_ANALYSTS": "ana@example.com"}
    assert serve_plan("0.0.0.0", no_auth=False, secrets={"auth": AUTH}, env=env).signin is True
    with pytest.raises(InputError, match="nobody may come in"):
        serve_plan("0.0.0.0", no_auth=False, secrets={"auth": AUTH}, env={})
    with pytest.raises(InputError, match="incomplete.*no client_secret"):
        serve_plan("127.0.0.1", no_auth=False, secrets={"auth": {**AUTH, "client_secret": ""}}, env=env)
    plan = serve_plan("127.0.0.1", no_auth=False, secrets={}, env=env)
    assert any("no effect without sign-in" in w for w in plan.warnings)


def test_secrets_files_read_in_streamlit_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    app, cwd = tmp_path / "app", tmp_path / "work"
    files = default_secrets_files(app, cwd)
    assert files == [tmp_path / "home/.streamlit/secrets.toml", cwd / ".streamlit/secrets.toml",
                     app / ".streamlit/secrets.toml"]
    for path, exports in ((files[0], "true"), (files[2], "false")):
        path.parent.mkdir(parents=True)
        path.write_text(f"[insight.access]\nexports = {exports}\n")
    assert merged_secrets(files) == {"insight": {"access": {"exports": False}}}
    files[1].parent.mkdir(parents=True)
    files[1].write_text("[auth\n")
    with pytest.raises(InputError, match="is not valid TOML"):
        read_secrets(files[1])
    with pytest.raises(InputError, match="does not exist"):
        read_secrets(tmp_path / "none.toml")


def test_serving_plan_gives_streamlit_the_checked_secrets_and_no_auth(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from insight.access_config import serving_plan

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    plan = serving_plan("0.0.0.0", 8600, no_auth=True, secrets_file=None)
    assert plan.env == {"INSIGHT_NO_AUTH": "1"} and plan.url == "http://0.0.0.0:8600"
    assert plan.streamlit_args[1:] == ("--server.port", "8600", "--server.address", "0.0.0.0",
                                       "--server.headless", "true")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in AUTH.items()))
    monkeypatch.setenv("INSIGHT_VIEWERS", "@example.com")
    plan = serving_plan("::", 8501, no_auth=True, secrets_file=secrets)
    assert plan.signin and plan.env == {"INSIGHT_NO_AUTH": ""} and plan.url == "http://[::]:8501"
    assert plan.streamlit_args[-2:] == ("--secrets.files", str(secrets.resolve()))
    assert plan.warnings == ("--no-auth has no effect: sign-in is configured",)
