"""Who may use the dashboard: the sign-in settings and the allow-lists, read from plain mappings.

No Streamlit here (the CLI reads it before the server starts; insight/ui/access.py reads it inside the app).

Sign-in is Streamlit's own `st.login` (OIDC), configured by the `[auth]` table of the Streamlit secrets
file exactly as Streamlit documents it. Who is let in, and as what, comes from an `[insight.access]` table
of the same file, or from environment variables, which win when set:

    [insight.access]                       # environment variable
    analysts = ["ana@example.com"]         # INSIGHT_ANALYSTS="ana@example.com"
    viewers = ["@example.com"]             # INSIGHT_VIEWERS="@example.com,bob@partner.org"
    exports = false                        # INSIGHT_EXPORTS=off

An entry is one e-mail address or `@domain` (everyone at that domain). Analysts may do everything
(every page, exports, uploads and trainings); viewers see every page and export only when `exports` is on
(default: on). Anyone signed in but on neither list is a stranger and sees nothing. Without sign-in
configured, everyone is an analyst: that is the single-user dashboard on this machine, and `insight serve`
refuses to listen beyond the loopback interface that way unless told `--no-auth`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from insight.errors import InputError

log = logging.getLogger(__name__)

Role = Literal["analyst", "viewer"]
Action = Literal["view", "export", "upload", "train"]
ACTIONS: tuple[str, ...] = ("view", "export", "upload", "train")
ANALYST_ONLY = frozenset({"upload", "train"})
ENV_ANALYSTS, ENV_VIEWERS, ENV_EXPORTS = "INSIGHT_ANALYSTS", "INSIGHT_VIEWERS", "INSIGHT_EXPORTS"
NO_AUTH_ENV = "INSIGHT_NO_AUTH"
"""Set to 1 by `insight serve --no-auth`: the app then serves everyone without sign-in beyond loopback."""
AUTH_REQUIRED = ("redirect_uri", "cookie_secret")
PROVIDER_REQUIRED = ("client_id", "client_secret", "server_metadata_url")
_ON, _OFF = {"on", "true", "yes", "1"}, {"off", "false", "no", "0"}
SIGNIN_HELP = ("configure sign-in: an [auth] table (redirect_uri, cookie_secret, client_id, client_secret, "
               "server_metadata_url) in .streamlit/secrets.toml or a file given with --secrets, and who may "
               "come in with INSIGHT_ANALYSTS / INSIGHT_VIEWERS (comma lists of addresses or @domains) or an "
               "[insight.access] table; see the README's \"Sign-in\" section. Or pass --no-auth to serve "
               "everyone without sign-in")


@dataclass(frozen=True)
class AccessPolicy:
    """The allow-lists (lower-case addresses and `@domain`s) and whether viewers may export."""

    analysts: tuple[str, ...] = ()
    viewers: tuple[str, ...] = ()
    exports: bool = True

    @property
    def empty(self) -> bool:
        """Nobody is let in (sign-in would refuse everyone)."""
        return not self.analysts and not self.viewers

    def role_of(self, email: str | None) -> Role | None:
        """The role of a signed-in address; None for a stranger (or no verified address)."""
        if not email:
            return None
        if _listed(email, self.analysts):
            return "analyst"
        if _listed(email, self.viewers):
            return "viewer"
        return None


def allowed(role: Role | None, action: str, policy: AccessPolicy) -> bool:
    """May someone with `role` do `action`? Analysts everything; viewers view, and export if allowed."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if role == "analyst":
        return True
    if role == "viewer":
        return action == "view" or (action == "export" and policy.exports)
    return False


def parse_entries(value: object, *, where: str) -> tuple[str, ...]:
    """Addresses and `@domain`s from a comma list or a list of strings, lower-cased, in order, no repeats."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InputError(f"{where} must be a list of e-mail addresses or @domains, not {value!r}")
    entries: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InputError(f"{where}: {item!r} is not an e-mail address or @domain")
        entry = item.strip().lower()
        if not entry:
            continue
        local, at, domain = entry.rpartition("@")
        if not at or not domain or "." not in domain or " " in entry or "@" in local:
            raise InputError(f"{where}: {item.strip()!r} is neither an e-mail address (name@example.com) "
                             "nor a domain (@example.com)")
        if entry not in entries:
            entries.append(entry)
    return tuple(entries)


def parse_switch(value: object, *, where: str) -> bool:
    """on/off, true/false, yes/no, 1/0 (or a TOML boolean)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    raise InputError(f"{where} must be on or off, not {value!r}")


def access_policy(secrets: Mapping[str, Any] | None = None,
                  env: Mapping[str, str] | None = None) -> AccessPolicy:
    """The policy from the secrets' `[insight.access]` table, with the environment variables winning."""
    env = os.environ if env is None else env
    insight = (secrets or {}).get("insight") or {}
    table = insight.get("access") or {} if isinstance(insight, Mapping) else {}
    if not isinstance(table, Mapping):
        raise InputError("[insight.access] in the secrets file must be a table")
    analysts = parse_entries(env[ENV_ANALYSTS], where=ENV_ANALYSTS) if env.get(ENV_ANALYSTS) is not None \
        else parse_entries(table.get("analysts"), where="[insight.access] analysts")
    viewers = parse_entries(env[ENV_VIEWERS], where=ENV_VIEWERS) if env.get(ENV_VIEWERS) is not None \
        else parse_entries(table.get("viewers"), where="[insight.access] viewers")
    if env.get(ENV_EXPORTS):
        exports = parse_switch(env[ENV_EXPORTS], where=ENV_EXPORTS)
    else:
        exports = parse_switch(table.get("exports", True), where="[insight.access] exports")
    return AccessPolicy(analysts=analysts, viewers=viewers, exports=exports)


def signin_problems(secrets: Mapping[str, Any] | None) -> list[str]:
    """What the `[auth]` table lacks for `st.login`; ["no [auth] table"] when there is none, [] when usable.

    Either the provider's settings sit in `[auth]` itself or in one or more `[auth.NAME]` tables.
    """
    auth = (secrets or {}).get("auth")
    if not isinstance(auth, Mapping) or not auth:
        return ["no [auth] table"]
    problems = [f"[auth] has no {key}" for key in AUTH_REQUIRED if not auth.get(key)]
    providers = {name: value for name, value in auth.items() if isinstance(value, Mapping)}
    if not providers:
        providers = {"": auth}
    for name, section in providers.items():
        where = f"[auth.{name}]" if name else "[auth]"
        problems += [f"{where} has no {key}" for key in PROVIDER_REQUIRED if not section.get(key)]
    return problems


def provider_names(secrets: Mapping[str, Any] | None) -> tuple[str | None, ...]:
    """The providers `st.login` can be given: named `[auth.NAME]` tables, else (None,) for `[auth]` itself."""
    auth = (secrets or {}).get("auth") or {}
    names = tuple(name for name, value in auth.items() if isinstance(value, Mapping))
    return names or (None,)


def read_secrets(path: Path) -> dict[str, Any]:
    """A secrets file as a dict; InputError (what is wrong, what to do) when missing or not TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"secrets file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read secrets file {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"secrets file {path} is not valid TOML: {e}") from None


def is_loopback(host: str) -> bool:
    """Does `host` (an address or name) only reach this machine?"""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listed(email: str, entries: tuple[str, ...]) -> bool:
    address = email.strip().lower()
    domain = "@" + address.rpartition("@")[2]
    return any(entry == address or entry == domain for entry in entries)


def default_secrets_files(app_folder: Path, cwd: Path | None = None) -> list[Path]:
    """Where Streamlit looks for secrets when `secrets.files` is not set, in its order (later wins): the
    user's ~/.streamlit/secrets.toml, the working folder's and the one beside the main script (app.py)."""
    files = [Path.home() / ".streamlit" / "secrets.toml", (cwd or Path.cwd()) / ".streamlit" / "secrets.toml",
             app_folder / ".streamlit" / "secrets.toml"]
    unique: list[Path] = []
    for path in files:
        if path.resolve() not in [p.resolve() for p in unique]:
            unique.append(path)
    return unique


def merged_secrets(files: list[Path]) -> dict[str, Any]:
    """The secrets Streamlit would see: every existing file read in order, later top-level tables winning."""
    secrets: dict[str, Any] = {}
    for path in files:
        if path.is_file():
            secrets.update(read_secrets(path))
    return secrets


@dataclass(frozen=True)
class ServePlan:
    """What `insight serve` decided: whether sign-in is on, and what to warn about; with `serving_plan`,
    also the app, its URL and the arguments for `streamlit run`."""

    signin: bool
    warnings: tuple[str, ...]
    app: Path | None = None
    url: str = ""
    streamlit_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


def serve_plan(host: str, *, no_auth: bool, secrets: Mapping[str, Any],
               env: Mapping[str, str] | None = None, port: int | None = None) -> ServePlan:
    """May the dashboard be served on `host` with these secrets? InputError (what to do) when not.

    Refused: an `[auth]` table `st.login` cannot use; sign-in with nobody on the allow-lists; any address
    beyond the loopback interface without sign-in, unless `no_auth`. Warned: a `redirect_uri` on another
    port than `port` (the provider would send users back elsewhere).
    """
    env = os.environ if env is None else env
    problems = signin_problems(secrets)
    policy = access_policy(secrets, env)
    if "auth" in secrets and problems:
        raise InputError(f"the sign-in settings are incomplete ({'; '.join(problems)}); {SIGNIN_HELP}")
    if not problems:
        if policy.empty:
            raise InputError(f"sign-in is configured but nobody may come in: set {ENV_ANALYSTS} and/or "
                             f"{ENV_VIEWERS} (comma lists of addresses or @domains) or the analysts/viewers "
                             "of an [insight.access] table in the secrets file")
        warnings = ("--no-auth has no effect: sign-in is configured",) if no_auth else ()
        redirect = str(secrets["auth"]["redirect_uri"])
        parts = urlsplit(redirect)
        served = parts.port or (443 if parts.scheme == "https" else 80)
        if port is not None and served != port:
            warnings += (f"[auth] redirect_uri is {redirect}, but the dashboard listens on port {port}: the "
                         "identity provider sends users back to redirect_uri (fine behind a proxy on that "
                         "port, else set redirect_uri to this server's address and port)",)
        if not parts.path.endswith("/oauth2callback"):
            raise InputError(f"[auth] redirect_uri {redirect} must end with /oauth2callback (Streamlit's "
                             "sign-in callback), e.g. http://127.0.0.1:8501/oauth2callback")
        return ServePlan(signin=True, warnings=warnings)
    warnings: tuple[str, ...] = ()
    if not policy.empty:
        warnings += (f"{ENV_ANALYSTS}/{ENV_VIEWERS} have no effect without sign-in (no [auth] table in the "
                     "secrets): everyone is an analyst",)
    if not is_loopback(host):
        if not no_auth:
            raise InputError(f"refusing to serve on {host} without sign-in: anyone who can reach it could "
                             f"browse and export every customer. Serve on 127.0.0.1 (the default), or "
                             f"{SIGNIN_HELP}")
        warnings += (f"WARNING: serving on {host} WITHOUT SIGN-IN (--no-auth): anyone who can reach this "
                     "address can see and export every customer and start trainings",)
    return ServePlan(signin=False, warnings=warnings)


def serving_plan(host: str, port: int, *, no_auth: bool, secrets_file: Path | None) -> ServePlan:
    """`serve_plan` on the secrets the app will read (`secrets_file` alone, else Streamlit's own locations),
    with the app (insight.appfiles; FileNotFoundError when missing), the URL served and `streamlit run`'s
    arguments (the secrets file passed on as `secrets.files`, so the app reads what was checked here)."""
    from dataclasses import replace

    from insight.appfiles import app_script

    if secrets_file is not None and not secrets_file.is_file():
        raise InputError(f"secrets file {secrets_file} does not exist (or is not a file)")
    app = app_script()
    files = [secrets_file] if secrets_file is not None else default_secrets_files(app.parent)
    plan = serve_plan(host, no_auth=no_auth, secrets=merged_secrets(files), port=port)
    args = [str(app), "--server.port", str(port), "--server.address", host, "--server.headless", "true"]
    if secrets_file is not None:
        args += ["--secrets.files", str(secrets_file.resolve())]
    env = {NO_AUTH_ENV: "1" if no_auth and not plan.signin else ""}
    return replace(plan, app=app, env=env, url=f"http://{f'[{host}]' if ':' in host else host}:{port}",
                   streamlit_args=tuple(args))
