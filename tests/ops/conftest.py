"""Fixtures for running the app as it runs in production: Redis shared by machines."""

import os
import uuid

import pytest

from tests.conftest import _unavailable

REDIS_URL = os.environ.get("SURVEYAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url():
    """The test Redis server's address; its keys under this test's prefix are deleted after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _unavailable(f"Redis is not reachable at {REDIS_URL}: {type(exc).__name__}")
    yield REDIS_URL
    client.close()


@pytest.fixture
def key_prefix(redis_url):
    """A prefix of this test's own for every key it makes in Redis, so runs never collide."""
    import redis

    prefix = f"surveyapp-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
