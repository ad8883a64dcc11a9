"""Single sign-on with OpenID Connect providers (Flask-free).

Which providers a deployment names (from its settings, each checked with an error that
names the variable), and which staff account a provider's checked sign-in opens:

- the account already linked to the provider's subject (``SignInLink``); else
- the account whose email is the one the provider says it has verified, which is then
  linked to the subject, so that later sign-ins match on the subject alone (not an
  administrator's account, nor one outside the provider's ``LINK_DOMAINS`` when it names
  some: a provider where anyone can make an account, or change its email, must not open
  them; those are linked by their owner from "Your account", with ``link``); else
- when the provider's settings allow the email's domain and give a default role, a new
  account of that role (no programme yet, no password); else nobody: signing in is refused.

Every sign-in, refusal and link goes in the audit log. The ID token itself is checked
(signature, issuer, audience, expiry, nonce) by Authlib in ``sso_views`` before any of
this runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_address
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp.audit import operations as audit
from surveyapp.errors import ConfigError
from surveyapp.models import STAFF_ROLES, SignInLink, User

NAME = re.compile(r"^[a-z][a-z0-9]{0,29}$")
#: Where an account made by single sign-on would keep its password hash: no password
#: ever matches it (argon2 refuses it as a hash), so it signs in with the provider only.
NO_PASSWORD = "!single-sign-on"


@dataclass(frozen=True)
class Provider:
    """One OpenID Connect provider a deployment signs staff in with."""

    name: str  # the short name in the settings and in the addresses of this site
    display_name: str  # shown on the button: "Sign in with <display_name>"
    issuer: str
    client_id: str
    client_secret: str
    allow_domains: tuple[str, ...] = ()
    default_role: str | None = None
    #: Email domains whose accounts are linked on a verified email; empty: any domain.
    link_domains: tuple[str, ...] = ()

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


def _variable(key: str) -> str:
    return f"SURVEYAPP_{key}"


def _names(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part).strip() for part in value]


def providers_from_config(config: Mapping) -> tuple[Provider, ...]:
    """The providers named by OIDC_PROVIDERS, each with its OIDC_<NAME>_* settings.

    :raises ConfigError: naming the environment variable that is missing or wrong.
    """
    names = _names(config.get("OIDC_PROVIDERS"))
    providers = []
    for name in names:
        if not NAME.match(name):
            raise ConfigError(
                f"{_variable('OIDC_PROVIDERS')}: “{name}” is not a provider name; use lower-case "
                "letters and digits, starting with a letter, for example entra or google."
            )
        prefix = f"OIDC_{name.upper()}_"

        def setting(key: str, *, required: bool = True, prefix: str = prefix, name: str = name):
            value = config.get(prefix + key)
            text = "" if value is None else str(value).strip()
            if required and not text:
                raise ConfigError(
                    f"{_variable(prefix + key)} is not set; it is needed because "
                    f"{_variable('OIDC_PROVIDERS')} names “{name}”."
                )
            return text

        issuer = setting("ISSUER")
        _check_issuer(issuer, _variable(prefix + "ISSUER"))
        domains = tuple(
            domain.lower().lstrip("@") for domain in _names(config.get(prefix + "ALLOW_DOMAINS"))
        )
        link_domains = tuple(
            domain.lower().lstrip("@") for domain in _names(config.get(prefix + "LINK_DOMAINS"))
        )
        role = setting("DEFAULT_ROLE", required=False) or None
        if role is not None and role not in STAFF_ROLES:
            raise ConfigError(
                f"{_variable(prefix + 'DEFAULT_ROLE')} must be one of {', '.join(STAFF_ROLES)}, "
                f"not “{role}” (an administrator is never made by signing in)."
            )
        if bool(domains) != (role is not None):
            missing = "DEFAULT_ROLE" if domains else "ALLOW_DOMAINS"
            raise ConfigError(
                f"{_variable(prefix + missing)} is not set: accounts are made by signing in only "
                f"when both {_variable(prefix + 'ALLOW_DOMAINS')} and "
                f"{_variable(prefix + 'DEFAULT_ROLE')} are set."
            )
        providers.append(
            Provider(
                name=name,
                display_name=setting("NAME", required=False) or name.capitalize(),
                issuer=issuer,
                client_id=setting("CLIENT_ID"),
                client_secret=setting("CLIENT_SECRET"),
                allow_domains=domains,
                default_role=role,
                link_domains=link_domains,
            )
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"{_variable('OIDC_PROVIDERS')} names a provider twice.")
    if not providers and config.get("PASSWORD_SIGN_IN") is False:
        raise ConfigError(
            f"{_variable('PASSWORD_SIGN_IN')} is false but {_variable('OIDC_PROVIDERS')} names "
            "no provider: nobody could sign in."
        )
    return tuple(providers)


def _check_issuer(issuer: str, variable: str) -> None:
    parts = urlsplit(issuer)
    loopback = False
    try:
        loopback = parts.hostname is not None and ip_address(parts.hostname).is_loopback
    except ValueError:
        loopback = parts.hostname == "localhost"
    if parts.query or parts.fragment or not parts.hostname:
        raise ConfigError(f"{variable}: “{issuer}” is not an issuer URL (https://host/path).")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigError(
            f"{variable}: “{issuer}” must start with https:// (plain http only on this machine)."
        )


@dataclass(frozen=True)
class Identity:
    """What a checked ID token says about the person."""

    issuer: str
    subject: str
    email: str
    email_verified: bool

    @classmethod
    def from_claims(cls, claims: Mapping) -> Identity:
        return cls(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=str(claims.get("email") or "").strip().lower(),
            email_verified=claims.get("email_verified") is True,
        )


@dataclass(frozen=True)
class Outcome:
    """The account signed in, or (``user`` None) what the person is told and why."""

    user: User | None
    refusal: str = ""


def linked_user(session: Session, identity: Identity) -> User | None:
    link = session.scalar(
        select(SignInLink).where(
            SignInLink.issuer == identity.issuer, SignInLink.subject == identity.subject
        )
    )
    return session.get(User, link.user_id) if link is not None else None


def links_of(session: Session, user: User) -> set[str]:
    """The issuers ``user`` is linked at."""
    return set(session.scalars(select(SignInLink.issuer).where(SignInLink.user_id == user.id)))


def sign_in(
    session: Session, provider: Provider, identity: Identity, *, now: datetime, address: str = ""
) -> Outcome:
    """The staff account ``identity`` opens, linked or made as the module says; audited."""
    who = identity.email or f"subject {identity.subject[:60]} at {provider.display_name}"

    def refuse(why: str, told: str) -> Outcome:
        audit.record(
            session,
            action="sign_in_failed",
            summary=f"Single sign-on with {provider.display_name} refused: {why}",
            actor=None,
            actor_label=who,
            address=address,
            now=now,
        )
        session.flush()
        return Outcome(None, told)

    unknown = (
        f"There is no staff account here for your {provider.display_name} account"
        + (f" ({identity.email})" if identity.email else "")
        + ". Ask an administrator of this site to make one for you."
    )
    user = linked_user(session, identity)
    how = "Signed in"
    if user is None:
        if not identity.email or not identity.email_verified:
            return refuse(
                "no link yet, and the provider did not say the email is verified", unknown
            )
        user = session.scalar(select(User).where(User.email == identity.email))
        if user is not None and not user.is_active:
            return refuse("an account that cannot sign in", unknown)
        if user is None:
            domain = identity.email.rpartition("@")[2]
            if domain not in provider.allow_domains or provider.default_role is None:
                return refuse("no staff account has this email", unknown)
            user = User(
                email=identity.email,
                password_hash=NO_PASSWORD,
                role=provider.default_role,
                created_at=now,
            )
            session.add(user)
            session.flush()
            audit.record(
                session,
                action="user.create",
                summary=f"Staff account made by single sign-on with {provider.display_name} "
                f"(domain {domain} allowed), role {provider.default_role}, no programme yet",
                actor=user,
                object_type="user",
                object_id=user.id,
                address=address,
                now=now,
            )
        elif identity.issuer in links_of(session, user):
            return refuse(
                "the account with this email is linked to another person at this provider",
                unknown,
            )
        elif user.role == "admin" or not _may_link_by_email(provider, identity.email):
            whose = "an administrator's" if user.role == "admin" else "this email domain's"
            return refuse(
                f"{whose} account is linked only by its owner, from Your account",
                f"Your account here is not linked to {provider.display_name} yet, and "
                f"{whose} account is linked only by its owner. Sign in with your password, "
                f"then on Your account choose “Link your {provider.display_name} account”.",
            )
        session.add(
            SignInLink(
                user_id=user.id,
                issuer=identity.issuer,
                subject=identity.subject,
                email=identity.email,
                created_at=now,
            )
        )
        audit.record(
            session,
            action="sign_in.link",
            summary=f"Account linked to its {provider.display_name} identity on a verified email",
            actor=user,
            object_type="user",
            object_id=user.id,
            address=address,
            now=now,
        )
        how = "Signed in for the first time"
    if not user.is_active:
        return refuse("an account that cannot sign in", unknown)
    link = session.scalar(
        select(SignInLink).where(
            SignInLink.issuer == identity.issuer, SignInLink.subject == identity.subject
        )
    )
    link.last_used_at = now
    user.last_signed_in_at = now
    audit.record(
        session,
        action="sign_in",
        summary=f"{how} with {provider.display_name} (single sign-on)",
        actor=user,
        address=address,
        now=now,
    )
    session.flush()
    return Outcome(user)


def _may_link_by_email(provider: Provider, email: str) -> bool:
    return not provider.link_domains or email.rpartition("@")[2] in provider.link_domains


def link(
    session: Session,
    provider: Provider,
    identity: Identity,
    user: User,
    *,
    now: datetime,
    address: str = "",
) -> str:
    """Link ``user``, signed in here and having just signed in at ``provider``, to that
    identity, whatever its email; audited. Returns "" when linked, else what to tell them."""
    owner = linked_user(session, identity)
    if owner is not None and owner.id == user.id:
        return ""
    if owner is not None or identity.issuer in links_of(session, user):
        why = (
            "that account is linked to another account here"
            if owner is not None
            else f"your account is already linked to another {provider.display_name} account"
        )
        audit.record(
            session,
            action="sign_in_failed",
            summary=f"Linking to {provider.display_name} refused: {why}",
            actor=user,
            address=address,
            now=now,
        )
        session.flush()
        return f"Your account was not linked: {why}. Nothing was changed."
    session.add(
        SignInLink(
            user_id=user.id,
            issuer=identity.issuer,
            subject=identity.subject,
            email=identity.email or "",
            created_at=now,
            last_used_at=now,
        )
    )
    audit.record(
        session,
        action="sign_in.link",
        summary=f"Account linked to its {provider.display_name} identity by its owner, "
        "from Your account",
        actor=user,
        object_type="user",
        object_id=user.id,
        address=address,
        now=now,
    )
    session.flush()
    return ""


def refused(
    session: Session, provider: Provider, why: str, *, now: datetime, address: str = ""
) -> None:
    """Audit a sign-in with ``provider`` that failed before anyone was known (a bad token)."""
    audit.record(
        session,
        action="sign_in_failed",
        summary=f"Single sign-on with {provider.display_name} refused: {why}"[:2000],
        actor=None,
        actor_label=f"(someone at {provider.display_name})",
        address=address,
        now=now,
    )
    session.flush()
