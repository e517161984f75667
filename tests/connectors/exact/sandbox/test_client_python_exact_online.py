"""A client nobody here wrote: `python-exact-online` 1.1.0 from PyPI, unchanged, against the sandbox.

The library's host is fixed in its config module (https://start.exactonline.be/api/v1) and its paging strips
exactly `https://start.exactonline.be/api/v1/<division>/` off each `__next` link, so a changed base URL would
break its second page. Rather than change anything, the test leaves the library as published: requests goes
through HTTPS_PROXY to a local tunnel (the standard CONNECT method) that ends at the sandbox, which serves region
be at the root of its port with a certificate for start.exactonline.be (trusted through REQUESTS_CA_BUNDLE).
The client runs in its own process (see clients/python_exact_online_run.py for why).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import REDIRECT_URI

DIVISION = 430001
RUNNER = Path(__file__).with_name("clients") / "python_exact_online_run.py"


class Tunnel:
    """An HTTP CONNECT proxy that sends every tunnel to one local port (the sandbox), whatever host is asked for."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.hosts: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.hosts.append(target)
            with socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                pump.start()
                _pipe(client, upstream)
                pump.join(timeout=5)

    def close(self) -> None:
        self._listener.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _digest(content: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()


def _isolated_copy(target: Path) -> Path:
    """The distribution's own files, byte for byte, in a folder of their own (RECORD hashes checked)."""
    distribution = metadata.distribution("python-exact-online")
    copied = 0
    for file in distribution.files or []:
        if not str(file).startswith("exactonline/") or file.suffix == ".pyc":
            continue
        source = Path(str(distribution.locate_file(file)))
        content = source.read_bytes()
        if file.hash is not None and _digest(content) != file.hash.value:
            # Both distributions ship exactonline/__init__.py; this one's is empty (its RECORD hash says so), so
            # an overwritten copy is restored from that hash alone. Any other difference fails the test.
            assert file.hash.value == _digest(b""), f"{file} differs from python-exact-online's RECORD"
            content = b""
        (target / file).parent.mkdir(parents=True, exist_ok=True)
        (target / file).write_bytes(content)
        copied += 1
    assert copied > 10
    return target


@pytest.fixture(scope="module")
def be_at_root() -> Iterator[SandboxServer]:
    with SandboxServer(
        regions=["be"], root_region="be", tls=True, tls_hostnames=["start.exactonline.be"], webhook_validation_delay=0
    ) as server:
        yield server


def test_token_refresh_paged_accounts_and_an_invoice(be_at_root: SandboxServer, tmp_path: Path) -> None:
    control: SandboxControl = be_at_root.control
    control.reset()
    app = control.register_app(redirect_uris=[REDIRECT_URI], name="python-exact-online")
    user = control.register_user(username="alexander", region="be")
    control.register_division(code=DIVISION, name="Schillemans BV", region="be", country="BE", users=[user["user_id"]])
    control.set_auto_consent(app["client_id"], user_id=user["user_id"], divisions=[DIVISION])
    control.seed(DIVISION, accounts=130, seed=6)
    customers = sorted(row["ID"] for row in control.dump(DIVISION)["Accounts"] if row["Status"] == "C")
    tunnel = Tunnel(be_at_root.port)
    package = _isolated_copy(tmp_path / "site")
    assert be_at_root.ca_file is not None
    env = {
        **os.environ,
        "PYTHONPATH": str(package),
        "HTTPS_PROXY": f"http://127.0.0.1:{tunnel.port}",
        "NO_PROXY": "127.0.0.1",  # only the control API call (the sandbox clock) goes direct
        "REQUESTS_CA_BUNDLE": str(be_at_root.ca_file),
    }
    try:
        result = subprocess.run(
            [
                sys.executable,
                str(RUNNER),
                app["client_id"],
                app["client_secret"],
                f"{be_at_root.root_url}/_control/clock/advance",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        tunnel.close()
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["base_url"] == "https://start.exactonline.be/api/v1"  # as published
    assert set(tunnel.hosts) == {"start.exactonline.be:443"}
    assert seen["auth_status"] == 302 and seen["division"] == DIVISION
    # Every customer once, over three pages of 60 (the library followed __next), each with its $filter.
    assert seen["accounts_error"] is None and sorted(seen["account_ids"]) == customers
    pages = control.requests(path="crm/Accounts")
    assert len(pages) == -(-len(customers) // 60) and all(page["query"]["$filter"] == "Status eq 'C'" for page in pages)
    assert seen["refreshed"] and control.counters()["token_refreshes"] == 1
    assert seen["journal_codes"] == ["70"]
    assert seen["create_error"] is None and seen["entry"]["YourRef"] == "PEO-1"
    assert seen["entry"]["line_amounts"] == [39.95, 100.0]
    (entry,) = control.dump(DIVISION)["SalesEntries"]
    assert entry["EntryID"] == seen["entry"]["EntryID"] and entry["Customer"] == seen["account_ids"][0]
    token_calls = control.requests(path="oauth2/token")
    assert token_calls[0]["basic_auth"]  # requests-oauthlib's code exchange authenticates with HTTP Basic
