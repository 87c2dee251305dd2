"""A push service on 127.0.0.1 for tests and the benchmark.

It checks what a real push service checks (the VAPID JWT's signature, audience
and expiry) and, acting as the browser too, decrypts the aes128gcm payload with
the subscription's private key. Answers can be scripted per request.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """The keys a browser makes for one subscription."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: __import__("os").urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    @property
    def auth_b64(self) -> str:
        return b64url(self.auth)


@dataclass
class Received:
    path: str
    headers: dict  # names in lower case
    claims: dict
    payload: dict
    at: float


class PushReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.browsers: dict[str, Browser] = {}
        self.script: list[tuple[int, dict, float]] = []  # (status, headers, delay) per request
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status, extra, delay = (receiver.script.pop(0) if receiver.script
                                            else (201, {}, 0.0))
                if delay:
                    time.sleep(delay)
                if status == 201:
                    try:
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        receiver._accept(self.path, headers, body)
                    except Exception as exc:  # reported by the test, not swallowed
                        with receiver._lock:
                            receiver.errors.append(f"{type(exc).__name__}: {exc}")
                        status = 400
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        # shutdown() waits for the serve loop's next poll: 0.5 s by default,
        # half a second at the end of every test that uses a receiver.
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def subscription(self, name: str) -> dict:
        """What a browser would hand to the app for a new subscription."""
        browser = Browser()
        self.browsers[name] = browser
        return {"endpoint": f"{self.origin}/push/{name}",
                "keys": {"p256dh": browser.p256dh, "auth": browser.auth_b64}}

    def _accept(self, path: str, headers: dict, body: bytes) -> None:
        auth = headers.get("authorization", "")
        assert auth.startswith("vapid "), f"no VAPID authorization: {auth!r}"
        parts = dict(p.strip().split("=", 1) for p in auth[6:].split(","))
        token, key = parts["t"], parts["k"]
        head_b64, claims_b64, sig_b64 = token.split(".")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        sig = unb64url(sig_b64)
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        try:
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise AssertionError("VAPID JWT signature does not verify") from None
        claims = json.loads(unb64url(claims_b64))
        assert claims["aud"] == self.origin, claims
        assert claims["exp"] > time.time(), claims
        assert claims["sub"].startswith("mailto:"), claims
        assert headers.get("content-encoding") == "aes128gcm", headers
        name = path.rsplit("/", 1)[-1]
        browser = self.browsers[name]
        plain = http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth,
                                 version="aes128gcm")
        with self._arrived:
            self.received.append(Received(path, headers, claims, json.loads(plain), time.time()))
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)
