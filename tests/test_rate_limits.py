"""Rate limits against guessing: sign-in per account and per address, personal links per address.

Only failures count, so people who sign in or open their link correctly are
never held back by anyone else's mistakes.
"""

import pytest

from surveyapp.staff import operations as accounts
from tests.conftest import NOW, PASSWORD
from tests.factories import make_invitation

ATTACKER = {"REMOTE_ADDR": "198.51.100.7"}
COLLEAGUE = {"REMOTE_ADDR": "198.51.100.8"}


@pytest.fixture
def users(session):
    for email in ("victim@example.org", "colleague@example.org"):
        accounts.create_user(session, email=email, password=PASSWORD, role="admin", now=NOW)
    session.commit()


def sign_in(client, email, password, address=ATTACKER):
    return client.post(
        "/auth/login", data={"email": email, "password": password}, environ_overrides=address
    )


def test_ten_failed_sign_ins_to_one_account_lock_it_for_a_while(client, users):
    failures = [sign_in(client, "victim@example.org", f"guess {n}") for n in range(10)]

    locked = sign_in(client, "victim@example.org", PASSWORD)
    from_elsewhere = sign_in(client, "Victim@Example.org ", PASSWORD, COLLEAGUE)

    assert [response.status_code for response in failures] == [422] * 10
    assert locked.status_code == 429 and from_elsewhere.status_code == 429
    assert "There have been too many attempts to sign in" in locked.text
    assert "Wait 15 minutes, then try again." in locked.text
    assert 840 < int(locked.headers["Retry-After"]) <= 900


def test_another_account_signs_in_while_one_is_locked(client, users):
    for n in range(11):
        sign_in(client, "victim@example.org", f"guess {n}")

    same_address = sign_in(client, "colleague@example.org", PASSWORD)
    other_address = sign_in(client, "colleague@example.org", PASSWORD, COLLEAGUE)

    assert same_address.status_code == 303 and other_address.status_code == 303


def test_successful_sign_ins_do_not_count(client, users):
    results = []
    for _ in range(12):
        results.append(sign_in(client, "victim@example.org", PASSWORD).status_code)
        client.post("/auth/logout")
    for n in range(9):
        results.append(sign_in(client, "victim@example.org", f"guess {n}").status_code)

    assert results == [303] * 12 + [422] * 9
    assert sign_in(client, "victim@example.org", PASSWORD).status_code == 303


def test_an_address_guessing_across_accounts_is_stopped_after_30_failures(client, users):
    failures = [sign_in(client, f"nobody{n}@example.org", "guess") for n in range(30)]

    blocked = sign_in(client, "colleague@example.org", PASSWORD)
    elsewhere = sign_in(client, "colleague@example.org", PASSWORD, COLLEAGUE)

    assert {response.status_code for response in failures} == {422}
    assert blocked.status_code == 429
    assert elsewhere.status_code == 303


def test_the_sign_in_page_itself_is_never_limited(client, users):
    for n in range(10):
        sign_in(client, "victim@example.org", f"guess {n}")

    assert client.get("/auth/login", environ_overrides=ATTACKER).status_code == 200


def test_the_limits_come_from_the_configuration(make_app, users):
    client = make_app(LIMIT_SIGN_IN_PER_ACCOUNT="2 per 1 minute").test_client()
    sign_in(client, "victim@example.org", "guess 1")
    sign_in(client, "victim@example.org", "guess 2")

    locked = sign_in(client, "victim@example.org", PASSWORD)

    assert locked.status_code == 429
    assert "Wait 1 minute, then try again." in locked.text


def test_guessing_personal_links_is_stopped_after_20_unknown_ones(client, session):
    invitation = make_invitation(session)
    session.commit()

    guesses = [
        client.get(f"/r/guess-{n:04d}-abcdefghijk", environ_overrides=ATTACKER) for n in range(20)
    ]
    blocked = client.get(f"/r/{invitation.token}", environ_overrides=ATTACKER)
    opt_out = client.get(f"/r/{invitation.token}/no-reminders", environ_overrides=ATTACKER)
    participant = client.get(f"/r/{invitation.token}", environ_overrides=COLLEAGUE)

    assert {response.status_code for response in guesses} == {404}
    assert blocked.status_code == 429 and opt_out.status_code == 429
    assert "too many attempts to open links that do not work" in blocked.text
    assert "Wait 10 minutes, then open the link in your email again." in blocked.text
    assert blocked.headers["Referrer-Policy"] == "no-referrer"
    assert participant.status_code == 303


def test_unknown_opt_out_links_count_as_guesses_too(client, session):
    for n in range(20):
        client.get(f"/r/guess-{n:04d}/no-reminders", environ_overrides=ATTACKER)

    assert client.get("/r/another-guess", environ_overrides=ATTACKER).status_code == 429


def test_many_people_opening_good_links_from_one_office_are_never_blocked(client, session):
    invitations = [make_invitation(session) for _ in range(25)]
    session.commit()

    opened = [
        client.get(f"/r/{invitation.token}", environ_overrides=ATTACKER).status_code
        for invitation in invitations
    ]
    mistakes = [
        client.get("/r/mistyped-link", environ_overrides=ATTACKER).status_code for _ in range(19)
    ]

    assert opened == [303] * 25
    assert mistakes == [404] * 19
    assert client.get(f"/r/{invitations[0].token}", environ_overrides=ATTACKER).status_code == 303


def test_no_email_address_is_kept_in_the_counter_store(app, client, users):
    sign_in(client, "victim@example.org", "guess")
    storage = app.extensions["surveyapp.limiter"].limiter.storage

    keys = " ".join(str(key) for key in vars(storage).get("events", {}))

    assert keys and "victim" not in keys and "example.org" not in keys
