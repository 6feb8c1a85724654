"""Sign-in and roles: the one place the dashboard asks "may this user do X".

`gate()` runs before any page (insight/ui/shell.py): with sign-in configured (an `[auth]` table in the
Streamlit secrets, see insight/access_config.py and the README) it shows the sign-in button to someone not
signed in and a refusal, with a sign-out button, to a stranger; neither sees any data. Pages and widgets
then ask `can("export")`, `can("upload")`, or `require("upload")` (a short refusal and st.stop()).

Actions: "view" (every page), "export" (downloads; viewers only when the export setting is on), "upload"
and "train" (analysts only). Without sign-in configured everyone is an analyst (the single-user dashboard
on this machine; `insight serve` keeps that to the loopback interface unless told `--no-auth`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from insight.access_config import (
    NO_AUTH_ENV,
    AccessPolicy,
    Role,
    access_policy,
    allowed,
    is_loopback,
    provider_names,
    signin_problems,
)
from insight.errors import InputError
from insight.formatting import markdown_text

log = logging.getLogger(__name__)
EXPORTS_OFF = "Exports are off for viewers on this dashboard; an analyst can export."
"""Said beside a disabled export button (`can("export")` is False)."""


@dataclass(frozen=True)
class User:
    """Who is looking: their address and name (None without sign-in) and role (None: a stranger)."""

    email: str | None
    name: str | None
    role: Role | None
    signed_in: bool


def current_user() -> User:
    """The user of this session. Without sign-in configured: an anonymous analyst, if the server listens on
    the loopback interface only or was started with `insight serve --no-auth`; else nobody may do anything."""
    secrets = _secrets()
    if signin_problems(secrets):
        role: Role | None = "analyst" if _open_without_signin() else None
        return User(email=None, name=None, role=role, signed_in=False)
    if not st.user.get("is_logged_in"):
        return User(email=None, name=None, role=None, signed_in=False)
    email = st.user.get("email")
    email = email if isinstance(email, str) and email else None
    if st.user.get("email_verified") is False:  # the provider says it has not checked the address
        log.warning("sign-in with an unverified address %s refused", email)
        email_for_role = None
    else:
        email_for_role = email
    name = st.user.get("name")
    return User(email=email, name=name if isinstance(name, str) else None,
                role=_policy(secrets).role_of(email_for_role), signed_in=True)


def can(action: str) -> bool:
    """May the current user do `action` ("view", "export", "upload", "train")?"""
    secrets = _secrets()
    return allowed(current_user().role, action, _policy(secrets))


def require(action: str) -> None:
    """Stop the page with a short refusal unless the current user may do `action`."""
    if can(action):
        return
    user = current_user()
    what = {"upload": "upload tables", "train": "start trainings", "export": "export data",
            "view": "see this dashboard"}.get(action, action)
    who = f"Signed in as {user.email}, a {user.role}" if user.role else "You are not on this dashboard's list"
    st.warning(f"{who}: you may not {what} here. Ask an analyst of this dashboard for access.",
               icon=":material/lock:")
    st.stop()


def signin_configured() -> bool:
    """Is sign-in (an `[auth]` table `st.login` can use) configured?"""
    return not signin_problems(_secrets())


def gate() -> None:
    """Before any page: the sign-in page, or a stranger's refusal, then st.stop(); else nothing.

    Either is the only page of a hidden navigation, so that Streamlit's own page list (pages/) is not
    shown beside it either."""
    secrets = _secrets()
    user = current_user()
    if signin_problems(secrets):
        if user.role is not None:
            return
    elif user.signed_in and user.role is not None:
        _signed_in_sidebar(user)
        return

    def sign_in() -> None:
        _signin_page(secrets)

    def refused() -> None:
        _stranger_page(user)

    def unprotected() -> None:
        _unprotected_page()

    show = unprotected if signin_problems(secrets) else refused if user.signed_in else sign_in
    only = st.Page(show, title="Customer Insight", url_path="sign-in", default=True)
    st.navigation([only], position="hidden").run()
    st.stop()


def _signed_in_sidebar(user: User) -> None:
    with st.sidebar:
        name = f"**{markdown_text(user.name)}** · " if user.name else ""
        st.caption(f"Signed in as {name}{_address(user.email or '')} · {user.role}")
        if st.button("Sign out", key="access_sign_out", icon=":material/logout:"):
            st.logout()


def _signin_page(secrets: Mapping[str, Any]) -> None:
    st.title("Customer Insight")
    st.write("Sign in with your organisation's account to see this dashboard.")
    for provider in provider_names(secrets):
        label = "Sign in" if provider is None else f"Sign in with {provider.capitalize()}"
        if st.button(label, key=f"access_sign_in_{provider or 'default'}", type="primary",
                     icon=":material/login:"):
            st.login(provider)


def _stranger_page(user: User) -> None:
    st.title("Customer Insight")
    who = (f"You are signed in as {_address(user.email)}" if user.email
           else "Your sign-in gave no verified e-mail address")
    st.error(f"{who}, which is not allowed to see this dashboard. Ask its owner to add you, or sign "
             "out and sign in with another account.", icon=":material/block:")
    if st.button("Sign out", key="access_sign_out", icon=":material/logout:"):
        st.logout()


def _unprotected_page() -> None:
    st.title("Customer Insight")
    st.error("This dashboard listens beyond this machine without sign-in, so it shows nothing. Start it with "
             "`insight serve`: on 127.0.0.1 (the default), or with sign-in configured (see the README's "
             "\"Sign-in\"), or with `--no-auth` to serve everyone anyway.", icon=":material/block:")


def _open_without_signin() -> bool:
    """Without sign-in, may everyone be an analyst? When the server listens on loopback only (the default
    in .streamlit/config.toml), or `insight serve --no-auth` said so (INSIGHT_NO_AUTH=1)."""
    address = st.get_option("server.address")  # unset: every interface (AppTest: no server at all)
    if address and is_loopback(str(address)):
        return True
    return os.environ.get(NO_AUTH_ENV) == "1" or (not address and bool(st.get_option("global.appTest")))


def _secrets() -> Mapping[str, Any]:
    """The Streamlit secrets as a plain dict ({} when there is no secrets file)."""
    try:
        if hasattr(st.secrets, "load_if_toml_exists") and not st.secrets.load_if_toml_exists():
            return {}
        return st.secrets.to_dict()
    except (FileNotFoundError, KeyError) as e:  # no secrets file: no sign-in
        log.debug("no secrets: %s", e)
        return {}


def _policy(secrets: Mapping[str, Any]) -> AccessPolicy:
    try:
        return access_policy(secrets)
    except InputError as e:  # a bad allow-list lets nobody in rather than everybody
        log.error("access settings: %s", e)
        return AccessPolicy(exports=False)


def _address(email: str) -> str:
    """An e-mail address for Markdown, as a code span: GFM turns a bare address into a mailto: link even
    with every character escaped (insight.formatting.markdown_text), a code span never."""
    return f"`{email.replace('`', '')}`"
