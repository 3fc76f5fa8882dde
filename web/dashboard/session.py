"""Browser sessions for the dashboard: an API key exchanged once for a signed cookie.

A browser cannot send `Authorization` on an `EventSource`, and a key kept in page script
would be one XSS away from theft, so the login form posts the key once and gets back a
cookie that script cannot read (HttpOnly), that no other site can make the browser send
(SameSite=Strict), sent only over TLS when the page came over TLS (Secure), and that
expires. The cookie carries the session (scope, expiry, a nonce and which key, signed with
HMAC), so any number of server processes sharing `JOBDECK_SESSION_SECRET` can read it; that
the session is still open is kept with the queue (`JobService.sessions`, at most 10,000 per
queue): signing out ends it in every process and across restarts.

Every state-changing request made with the cookie must also carry `X-CSRF-Token`, a value
derived from the session's nonce that the page gets from `GET api/v1/session`; a forged
form or cross-site script cannot read it. Requests authenticated by an API key header need
no token: a browser never adds those on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass

import orjson
from fastapi import Request

from jobdeck.core.sessions import Sessions

from ..auth import ApiKeys, Auth, Principal
from ..problems import Problem

__all__ = ["COOKIE", "CSRF_HEADER", "Session", "SessionCookies"]

COOKIE = "jobdeck_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_GRANTS = {"read": frozenset({"read"}), "operate": frozenset({"read", "operate"})}


@dataclass(frozen=True, slots=True)
class Session:
    scope: str
    expires: float
    nonce: str
    key_digest: str  # first 16 hex digits of the key's SHA-256: which key, never the key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCookies:
    """Issues and checks session cookies; is the `Auth` credential source for them."""

    def __init__(
        self,
        keys: ApiKeys,
        store: Sessions,
        *,
        secret: bytes | None = None,
        lifetime: float = 8 * 3600,
    ) -> None:
        env = os.environ.get("JOBDECK_SESSION_SECRET")
        self.secret = secret or (env.encode() if env else secrets.token_bytes(32))
        self.secret_origin = "given" if secret else "JOBDECK_SESSION_SECRET" if env else ""
        self.keys = keys
        self.lifetime = lifetime
        self.store = store  # which sessions are open: signed out is gone for every process

    def describe(self) -> str:
        """For the banner: where the cookies' signing secret comes from (never the secret)."""
        if self.secret_origin:
            return f"browser sign-in: session cookies signed with {self.secret_origin}"
        return (
            "browser sign-in: session cookies signed with a random secret made at start "
            "(set JOBDECK_SESSION_SECRET to share sign-ins between processes and restarts)"
        )

    # -- issuing -----------------------------------------------------------------------------
    def login(self, key: str) -> Session | None:
        """A new session for a valid key, or None (the caller answers 401)."""
        principal = self.keys.match(key)
        if principal is None:
            return None
        scope = "operate" if principal.allows("operate") else "read"
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return Session(scope, time.time() + self.lifetime, secrets.token_urlsafe(16), digest)

    def encode(self, session: Session) -> str:
        body = _b64(
            orjson.dumps(
                {
                    "s": session.scope,
                    "e": session.expires,
                    "n": session.nonce,
                    "k": session.key_digest,
                }
            )
        )
        return f"{body}.{self._sign(body)}"

    def csrf_token(self, session: Session) -> str:
        return _b64(hmac.new(self.secret, b"csrf:" + session.nonce.encode(), "sha256").digest())

    async def start(self, session: Session) -> None:
        """Record the session as open (the caller then sets its cookie)."""
        await self.store.open(session.nonce, self.lifetime)

    async def end(self, session: Session) -> None:
        """Sign out: the session is closed for every process serving the queue."""
        await self.store.close(session.nonce)

    # -- checking ----------------------------------------------------------------------------
    def decode(self, value: str) -> Session | None:
        """The session a cookie carries, or None if it is forged, malformed, expired, or its
        key is no longer configured. Whether it is still open (not signed out) is the
        store's to say (`__call__`)."""
        body, _, signature = value.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            data = orjson.loads(_unb64(body))
            session = Session(str(data["s"]), float(data["e"]), str(data["n"]), str(data["k"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.scope not in _GRANTS or session.expires < time.time():
            return None
        if not self._key_still_there(session):
            return None
        return session

    def from_request(self, request: Request) -> Session | None:
        value = request.cookies.get(COOKIE)
        return self.decode(value) if value else None

    async def __call__(self, request: Request) -> Principal | None:
        value = request.cookies.get(COOKIE)
        if not value:
            return None
        session = self.decode(value)
        if session is None or not await self.store.is_open(session.nonce):
            raise Problem(401, "the session has expired or is not valid: sign in again")
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, self.csrf_token(session)):
                raise Problem(403, "missing or wrong CSRF token", field="header.x-csrf-token")
        return Principal(_GRANTS[session.scope], "session", f"session ({session.scope})")

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self.secret, body.encode(), "sha256").digest())

    def _key_still_there(self, session: Session) -> bool:
        # A key taken out of the configuration ends its sessions too (on the next request).
        prefix = session.key_digest
        return any(
            digest.hex()[:16] == prefix and _GRANTS[scope] >= _GRANTS[session.scope]
            for scope, digest in self.keys.entries
        )


def keys_of(auth: Auth) -> ApiKeys:
    """Every API key the app accepts, merged: what the login form checks a key against."""
    entries = [
        entry for source in auth.sources if isinstance(source, ApiKeys) for entry in source.entries
    ]
    return ApiKeys(entries)
