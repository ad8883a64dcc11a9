"""The rate-limit store: shared across machines in Redis, refused at start when unusable,
and a warning that memory:// counts in each process on its own."""

import logging

import pytest

from surveyapp import create_app
from surveyapp.errors import ConfigError

UNKNOWN = {"REMOTE_ADDR": "198.51.100.7"}


def test_two_apps_sharing_redis_count_one_limit(make_app, redis_url, key_prefix):
    shared = {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": key_prefix,
        "LIMIT_LINKS_PER_ADDRESS": "5 per 10 minutes",
    }
    machine_a = make_app(**shared).test_client()
    machine_b = make_app(**shared).test_client()

    guesses = [machine_a.get(f"/r/guess{n}", environ_overrides=UNKNOWN) for n in range(3)]
    guesses += [machine_b.get(f"/r/guess{n}", environ_overrides=UNKNOWN) for n in range(3, 5)]
    refused_a = machine_a.get("/r/guess5", environ_overrides=UNKNOWN)
    refused_b = machine_b.get("/r/guess6", environ_overrides=UNKNOWN)

    assert [response.status_code for response in guesses] == [404] * 5
    assert refused_a.status_code == 429 and refused_b.status_code == 429
    assert "Retry-After" in refused_b.headers


def test_memory_store_on_two_apps_counts_twice_as_many(make_app):
    """What the shared store is for: memory:// lets each process count on its own."""
    alone = {"RATELIMIT_STORAGE_URI": "memory://", "LIMIT_LINKS_PER_ADDRESS": "2 per 10 minutes"}
    machine_a = make_app(**alone).test_client()
    machine_b = make_app(**alone).test_client()

    statuses = [
        client.get(f"/r/guess{n}", environ_overrides=UNKNOWN).status_code
        for n, client in enumerate([machine_a, machine_a, machine_b, machine_b, machine_a])
    ]

    assert statuses == [404, 404, 404, 404, 429]


def served_config(tmp_path, **settings):
    """Settings of an app as gunicorn serves it: not testing, a secret key, its own folder."""
    return {
        "SECRET_KEY": "served",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite'}",
        "TESTING": False,
    } | settings


def test_a_store_that_does_not_answer_stops_the_app_at_start(tmp_path):
    with pytest.raises(ConfigError) as refused:
        create_app(served_config(tmp_path, RATELIMIT_STORAGE_URI="redis://:s3cret@127.0.0.1:1"))

    message = str(refused.value)
    assert "SURVEYAPP_RATELIMIT_STORAGE_URI" in message
    assert "cannot be reached" in message
    assert "s3cret" not in message and "redis://:***@127.0.0.1:1" in message


def test_an_unknown_store_stops_the_app_at_start(tmp_path):
    with pytest.raises(ConfigError) as refused:
        create_app(served_config(tmp_path, RATELIMIT_STORAGE_URI="rediss-typo://localhost"))

    assert "SURVEYAPP_RATELIMIT_STORAGE_URI is “rediss-typo://localhost”" in str(refused.value)
    assert "cannot be used as the rate-limit store" in str(refused.value)


def test_a_redis_store_starts_the_app(tmp_path, redis_url, key_prefix):
    app = create_app(
        served_config(tmp_path, RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=key_prefix)
    )

    assert app.extensions["surveyapp.limiter"].storage.check()


def test_the_memory_store_is_said_to_count_per_process_when_served(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="surveyapp.limits"):
        create_app(served_config(tmp_path, RATELIMIT_STORAGE_URI="memory://"))

    said = [record.getMessage() for record in caplog.records if record.name == "surveyapp.limits"]
    assert len(said) == 1
    assert "SURVEYAPP_RATELIMIT_STORAGE_URI=memory://" in said[0]
    assert "separately in every process" in said[0]
