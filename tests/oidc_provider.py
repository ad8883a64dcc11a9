"""A real OpenID Connect provider for the tests: tests/oidc/provider.mjs (the oidc-provider
package from npm) run by Node.js on a free loopback port.

Where Node.js or the package (``npm ci --prefix tests/oidc``) is missing, the tests that
need it are skipped, or fail when SURVEYAPP_TEST_REQUIRE_SERVICES=1 (as in CI).
"""

import json
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import _unavailable

FOLDER = Path(__file__).parent / "oidc"
CLIENT_ID = "surveyapp"
CLIENT_SECRET = "a client secret for the tests only"
ACCOUNT_PASSWORD = "provider password"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningProvider:
    issuer: str
    process: subprocess.Popen
    accounts: list = field(default_factory=list)

    def app_config(self, name: str = "council", **extra) -> dict:
        """The app's settings that name this provider."""
        prefix = f"OIDC_{name.upper()}_"
        return {
            "OIDC_PROVIDERS": name,
            prefix + "ISSUER": self.issuer,
            prefix + "CLIENT_ID": CLIENT_ID,
            prefix + "CLIENT_SECRET": CLIENT_SECRET,
            prefix + "NAME": "Test Council",
        } | {prefix + key: value for key, value in extra.items()}


def start_provider(
    tmp_path: Path, *, port: int, redirect_uri: str, accounts: list[dict], **options
) -> RunningProvider:
    """Start the provider with ``accounts`` ({sub, email, email_verified, name}; each has
    ACCOUNT_PASSWORD) and one client, ours; ``options``: clock_offset_seconds,
    id_token_ttl, wrong_audience. Stop it with ``stop_provider``."""
    node = shutil.which("node")
    if node is None:
        _unavailable("Node.js is not installed (apt-get install nodejs)")
    if not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        _unavailable("the test OpenID provider is not installed (npm ci --prefix tests/oidc)")
    config = {
        "port": port,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [redirect_uri],
            }
        ],
        "accounts": [account | {"password": ACCOUNT_PASSWORD} for account in accounts],
    } | options
    path = tmp_path / f"provider-{port}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    process = subprocess.Popen(
        [node, str(FOLDER / "provider.mjs"), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=FOLDER,
    )
    line = process.stdout.readline()
    if not line.startswith("ready "):
        process.kill()
        process.wait(timeout=10)
        raise RuntimeError(f"the test provider did not start: {line!r}")
    return RunningProvider(line.split()[1], process, accounts)


def stop_provider(provider: RunningProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.wait(timeout=10)
    provider.process.stdout.close()
