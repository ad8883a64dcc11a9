"""Single sign-on with OpenID Connect: routes of the ``auth`` blueprint.

The authorisation code flow with PKCE (S256), ``state`` and ``nonce``, through Authlib's
Flask client. Authlib checks the ID token: its signature against the provider's published
keys (JWKS), the issuer, the audience (our client id), the expiry and the nonce; the
``state`` is kept in the session for one answer only, so coming back to the callback a
second time is refused. ``single_sign_on`` decides which account that opens.

A provider sign-in is a fresh sign-in for step-up, and asks for none of our two-step codes:
the provider does its own. Signing in again for step-up asks the provider to ask the person
again (``prompt=login``, ``max_age=0``) and takes only the same person, authenticated then.
"""

import time

from authlib.integrations.flask_client import OAuth, OAuthError
from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc.errors import JoseError
from requests import RequestException

from surveyapp.audit import operations as audit
from surveyapp.auth import single_sign_on as sso
from surveyapp.auth.views import (
    CONFIRMED_AT,
    SIGNED_IN_WITH,
    _safe_next,
    _start_session,
    bp,
)
from surveyapp.db import get_session
from surveyapp.web.context import now

EXTENSION = "surveyapp.single_sign_on"
#: The sign-in under way: which provider, what for, where to go after, when it started.
PENDING = "sso_pending"
#: A sign-in not finished within this long is refused (the person starts again).
PENDING_SECONDS = 600


def init_app(app: Flask) -> None:
    """Read and check the providers (ConfigError naming the variable), register each with
    Authlib."""
    providers = sso.providers_from_config(app.config)
    oauth = OAuth(app)
    for provider in providers:
        oauth.register(
            name=f"sso_{provider.name}",
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.metadata_url,
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        )
    app.extensions[EXTENSION] = (oauth, {provider.name: provider for provider in providers})


def providers() -> list[sso.Provider]:
    return list(current_app.extensions[EXTENSION][1].values())


def _provider_or_404(name: str):
    oauth, named = current_app.extensions[EXTENSION]
    provider = named.get(name) or abort(404)
    return provider, oauth.create_client(f"sso_{name}")


def step_up_providers(user) -> list[sso.Provider]:
    """The providers ``user`` can sign in again with for step-up: those linked to them."""
    issuers = sso.links_of(get_session(), user)
    return [provider for provider in providers() if provider.issuer in issuers]


@bp.app_context_processor
def _single_sign_on() -> dict:
    """For "Your account": the providers the signed-in person is linked at."""
    return {"linked_providers": step_up_providers, "sso_providers": providers}


@bp.get("/sso/<name>")
def sso_start(name: str):
    """Send the person to the provider to sign in (or, for step-up, to sign in again).

    A link, not a form: the Content-Security-Policy's ``form-action 'self'`` rightly stops a
    form's answer redirecting to another site. Starting signs nobody in; the callback does,
    and only with the ``state`` this browser was given here."""
    provider, client = _provider_or_404(name)
    purpose = request.args.get("purpose")
    purpose = purpose if purpose in ("confirm", "link") else "sign_in"
    if purpose != "sign_in" and g.user is None:
        return redirect(url_for(".login"), code=303)
    if purpose == "link":
        # Linking gives a second way into the account: the password again first, so a
        # browser left signed in cannot be linked to someone else's provider account.
        from surveyapp.auth.views import ask_for_password_again

        asked = ask_for_password_again(url_for(".sso_start", name=name, purpose="link"))
        if asked is not None:
            return asked
    session[PENDING] = {
        "provider": name,
        "purpose": purpose,
        "next": _safe_next(request.args.get("next")),
        "started": int(time.time()),
    }
    redirect_uri = current_app.config["BASE_URL"].rstrip("/") + url_for(".sso_callback", name=name)
    extra = {"prompt": "login", "max_age": 0} if purpose != "sign_in" else {}
    try:
        issuer = client.load_server_metadata().get("issuer")
        if issuer != provider.issuer:
            # Metadata from somewhere pretending to be the provider (or a typing mistake).
            return _refuse(provider, f"its metadata names another issuer, {str(issuer)[:200]!r}")
        return client.authorize_redirect(redirect_uri, **extra)
    except (RequestException, ValueError, KeyError, RuntimeError) as problem:
        return _refuse(provider, f"its settings could not be read ({type(problem).__name__})")


@bp.get("/sso/<name>/callback")
def sso_callback(name: str):
    """The provider sends the person back here with a code; check everything, then sign in."""
    provider, client = _provider_or_404(name)
    pending = session.pop(PENDING, None)
    if (
        not isinstance(pending, dict)
        or pending.get("provider") != name
        or time.time() - pending.get("started", 0) > PENDING_SECONDS
    ):
        # Also this address a second time: the state was for one answer only.
        return _refuse(provider, "no sign-in was under way in this browser (state unknown or used)")
    if request.args.get("iss", provider.issuer) != provider.issuer:
        # A mix-up: the answer comes from another provider than the one asked (RFC 9207).
        return _refuse(provider, "the answer names another issuer")
    leeway = int(current_app.config["OIDC_CLOCK_LEEWAY_SECONDS"])
    try:
        # Named here, each: Authlib checks the audience only when told to.
        token = client.authorize_access_token(
            leeway=leeway,
            claims_options={
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},
                "exp": {"essential": True},
                "sub": {"essential": True},
            },
        )
        claims = token.get("userinfo")
        if not claims:
            raise OAuthError(description="no ID token in the answer")
    except (OAuthError, JoseError, RequestException, ValueError, KeyError) as problem:
        return _refuse(provider, _why(problem))
    identity = sso.Identity.from_claims(claims)
    db = get_session()
    if pending["purpose"] == "confirm":
        return _confirm(provider, identity, claims, pending)
    if pending["purpose"] == "link":
        return _link(provider, identity)
    outcome = sso.sign_in(db, provider, identity, now=now(), address=request.remote_addr or "")
    db.commit()
    if outcome.user is None:
        told = outcome.refusal
        return render_template("auth/sso_refused.html", provider=provider, told=told), 403
    _start_session(outcome.user)
    session[SIGNED_IN_WITH] = name
    return redirect(pending["next"], code=303)


def _confirm(provider: sso.Provider, identity: sso.Identity, claims, pending):
    """Step-up: the same person, who has just signed in at the provider again."""
    db = get_session()
    fresh = int(claims.get("auth_time") or 0) >= pending["started"] - 5
    same = g.user is not None and getattr(sso.linked_user(db, identity), "id", None) == g.user.id
    if not same or not fresh:
        why = "not the person signed in here" if fresh else "the provider did not ask again"
        return _refuse(provider, f"signing in again for a protected action: {why}")
    session[CONFIRMED_AT] = now().isoformat()
    audit.record(
        db,
        action="sign_in.confirm",
        summary=f"Signed in again with {provider.display_name} for a protected action",
        actor=g.user,
        address=request.remote_addr or "",
        now=now(),
    )
    db.commit()
    return redirect(pending["next"], code=303)


def _link(provider: sso.Provider, identity: sso.Identity):
    """From Your account: link the person signed in here to the provider account they just
    signed in to (an administrator's account is linked only this way)."""
    if g.user is None:
        return _refuse(provider, "linking, but nobody is signed in here")
    db = get_session()
    told = sso.link(db, provider, identity, g.user, now=now(), address=request.remote_addr or "")
    db.commit()
    if told:
        flash(told, "error")
    else:
        flash(
            f"Your account is linked to {provider.display_name}: “Sign in with "
            f"{provider.display_name}” now signs you in.",
            "success",
        )
    return redirect(url_for(".account"), code=303)


def _why(problem: Exception) -> str:
    """Words for the audit log; the error's own text names the claim (aud, exp, nonce...)."""
    text = getattr(problem, "description", None) or str(problem) or ""
    error = getattr(problem, "error", None) or getattr(problem, "error_code", "") or ""
    return f"the answer failed its checks: {type(problem).__name__} {error} {text}".strip()


def _refuse(provider: sso.Provider, why: str):
    db = get_session()
    sso.refused(db, provider, why, now=now(), address=request.remote_addr or "")
    db.commit()
    told = (
        f"Signing in with {provider.display_name} did not work. Nothing was changed. "
        "Start again from the sign-in page."
    )
    return render_template("auth/sso_refused.html", provider=provider, told=told), 400
