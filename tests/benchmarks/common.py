"""What the benchmarks share: a PostgreSQL database of their own, gunicorn on loopback,
a lightweight HTTP client, and latency percentiles.

Nothing here listens beyond 127.0.0.1, and every server started here is stopped by its
context manager, even when the benchmark fails.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_ADMIN_URL

#: What tests/benchmarks/participants.py has always measured with: two workers of four threads.
GUNICORN_SETTINGS = ["-w", "2", "--threads", "4"]
REQUEST_TIMEOUT = 15.0
START_TIMEOUT = 30.0
FIRST_PAGE = re.compile(rb'href="/r/page/([^"/]+)"')
#: A hidden csrf_token field, whatever order its attributes come in.
CSRF_TOKEN = re.compile(rb'name="csrf_token"[^>]*?value="([^"]+)"')
CLK_TCK = os.sysconf("SC_CLK_TCK")
FORM = "application/x-www-form-urlencoded"


# -- the database ------------------------------------------------------------------------


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database, dropped at the end; None when no server answers."""
    admin = create_engine(
        POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no server here"
        admin.dispose()
        print(
            f"PostgreSQL skipped: no server answers at {POSTGRES_ADMIN_URL} ({type(exc).__name__})"
        )
        yield None
        return
    name = f"surveyapp_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving ``target`` from ``cwd`` on a loopback port, stopped on exit."""

    def __init__(
        self,
        name: str,
        target: str,
        cwd: Path,
        env: dict[str, str],
        log: Path,
        settings: list[str] = GUNICORN_SETTINGS,
    ):
        self.name, self.target, self.cwd, self.env, self.log = name, target, cwd, env, log
        self.settings = settings
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            *self.settings,
            "-b",
            f"127.0.0.1:{self.port}",
            "--graceful-timeout",
            "5",
            self.target,
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: master and workers
            )
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} stopped at start:\n{self.log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
                connection.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /health in {START_TIMEOUT}s")

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            # The group this script created for the server: any worker left behind goes too.
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
        self.process = None

    def pids(self) -> list[int]:
        if self.process is None:
            return []
        return [self.process.pid, *children(self.process.pid)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


# -- the client -----------------------------------------------------------------------------


class Failure(Exception):
    """The server answered something a participant would not expect."""


class Browser:
    """One participant's keep-alive connection and session cookie.

    HTTP/1.1 over a plain socket, reading only what Flask sends (Content-Length
    bodies): about 40 us of CPU per request where http.client takes 150. Cookies are
    kept by name, without paths or expiry; ``content_type`` is the last response's.
    """

    def __init__(self, port: int, timeout: float = REQUEST_TIMEOUT) -> None:
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.cookies: dict[str, str] = {}
        self.content_type = ""

    def request(self, method: str, path: str, body: bytes | None = None):
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if self.cookies:
            head += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        if body is not None:
            head += f"Content-Type: {FORM}\r\nContent-Length: {len(body)}\r\n"
        try:
            self.sock.sendall(head.encode("latin-1") + b"\r\n" + (body or b""))
            buffer = self.buffer
            while (end := buffer.find(b"\r\n\r\n")) < 0:
                chunk = self.sock.recv(262144)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                buffer += chunk
            lines = buffer[:end].decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            length, location, close, self.content_type = 0, "", False, ""
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.lower()
                value = value.strip()
                if name == "content-length":
                    length = int(value)
                elif name == "location":
                    location = value
                elif name == "set-cookie":
                    cookie_name, _, cookie_value = value.split(";", 1)[0].partition("=")
                    self.cookies[cookie_name.strip()] = cookie_value.strip()
                elif name == "content-type":
                    self.content_type = value
                elif name == "connection":
                    close = value.lower() == "close"
                elif name == "transfer-encoding":
                    raise ConnectionError("chunked responses are not read")
            need = end + 4 + length
            while len(buffer) < need:
                chunk = self.sock.recv(262144)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                buffer += chunk
            data, self.buffer = buffer[end + 4 : need], buffer[need:]
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, location, data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# -- figures ------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latencies(values: list[float]) -> str:
    shown = [percentile(values, fraction) for fraction in (0.50, 0.95, 0.99)]
    return "/".join("-" if value is None else f"{value:.0f}" for value in shown)
