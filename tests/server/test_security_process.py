"""The security rules through a real `pixelopolis server` (gunicorn workers): revocation
across workers, a chunked oversized body, and logs without secrets."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.helpers.server_process import running_server

pytestmark = pytest.mark.slow
KEY = "process-security-key-0123456789"


def _chunked_post(base: str, path: str, size: int) -> tuple[int, bytes]:
    """POST a chunked body of `size` bytes with a raw socket (no Content-Length)."""
    host, port = base.split("//")[1].split("/")[0].split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"X-Fleet-Key: {KEY}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head.encode())
        chunk = b"x" * 8192
        try:
            for _ in range(size // len(chunk)):
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the whole body is sent
        answer = b""
        while data := s.recv(65536):
            answer += data
    status = int(answer.split(b" ", 2)[1])
    return status, answer


def test_revocation_size_limit_and_quiet_logs(tmp_path, mongo_uri, db_name):
    extra = [
        "--db",
        mongo_uri,
        "--database",
        db_name,
        "--register-limit",
        "1000/minute",
    ]
    with running_server(tmp_path / "data", fleet_key=KEY, workers=2, extra=extra) as (base, proc):
        session = requests.Session()
        r = session.post(
            f"{base}/devices", json={"kind": "car", "name": "c"}, headers={"X-Fleet-Key": KEY}
        )
        assert r.status_code == 201 and r.headers["Cache-Control"] == "no-store"
        car, token = r.json()["id"], r.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        # Warm the token into both workers' caches, then revoke it through one of them.
        for _ in range(8):
            assert requests.get(f"{base}/cars", headers=auth, timeout=5).status_code == 200
        r = requests.delete(f"{base}/devices/{car}/token", headers={"X-Fleet-Key": KEY}, timeout=5)
        assert r.status_code == 200 and r.json()["revoked"]
        time.sleep(2.2)  # token_cache_s: every worker has forgotten it now
        for _ in range(8):
            r = requests.get(f"{base}/cars", headers=auth, timeout=5)
            assert r.status_code == 401 and r.json()["error"]["code"] == "bad_token"
        status, answer = _chunked_post(base, "/api/v1/devices", 256 * 1024)
        assert status == 413 and b"payload_too_large" in answer
        r = requests.post(
            f"{base}/devices",
            json={"kind": "car", "name": "x"},
            headers={"X-Fleet-Key": "guess-1234"},
        )
        assert r.status_code == 401
    output = proc.stdout.read() if proc.stdout else ""
    for secret in (KEY, token, "guess-1234"):
        assert secret not in output
