"""The participant's session cookie is readable by whoever holds it: it must not carry the link."""

import base64
import json
import zlib

from surveyapp.waves import operations as waves
from tests.factories import make_invitation


def _readable(cookie: str) -> str:
    """What anyone holding the cookie can read, without the secret key (itsdangerous' layout)."""
    payload = cookie.removeprefix(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if cookie.startswith(".") else raw).decode()


def _open(client, token):
    client.get(f"/r/{token}")
    return client.get("/r/")


def test_the_cookie_does_not_carry_the_link_and_its_value_opens_nothing(app, client, session):
    invitation = make_invitation(session)
    session.commit()

    assert "Session evaluation" in _open(client, invitation.token).text
    cookie = client.get_cookie("session").value
    readable = _readable(cookie)

    assert invitation.token not in readable
    assert invitation.token not in cookie
    values = [str(value) for value in json.loads(readable).values()]
    stranger = app.test_client()
    for value in values + [value.split(".")[-1] for value in values] + [cookie]:
        assert stranger.get(f"/r/{value}").status_code == 404
    assert stranger.get("/r/").status_code == 404


def test_the_session_still_works_and_stops_when_the_link_is_replaced(client, session):
    invitation = make_invitation(session)
    session.commit()

    assert _open(client, invitation.token).status_code == 200
    assert client.get("/r/").status_code == 200
    invitation.token = waves.new_token()  # the link is replaced (sent by mistake to another)
    session.commit()

    assert client.get("/r/").status_code == 404
    assert _open(client, invitation.token).status_code == 200


def test_a_session_made_before_keeps_working_without_the_token(client, session):
    invitation = make_invitation(session)
    session.commit()
    with client.session_transaction() as stored:
        stored["respond_token"] = invitation.token

    assert "Session evaluation" in client.get("/r/").text
    assert invitation.token not in _readable(client.get_cookie("session").value)


def test_pages_do_not_send_the_unchanged_cookie_again_and_the_session_goes_on(client, session):
    invitation = make_invitation(session)
    session.commit()
    client.get(f"/r/{invitation.token}")
    client.get("/r/")  # the first page shown keeps its form token in the session
    shown = client.get("/r/")  # since then nothing in the session changed
    again = client.get("/r/")

    assert "Set-Cookie" not in shown.headers and "Set-Cookie" not in again.headers
    assert "Session evaluation" in again.text
