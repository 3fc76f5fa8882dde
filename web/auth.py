"""Who is calling, and may they: API keys with scopes, and a seam for other credentials.

Two scopes: `read` (every GET, the event stream) and `operate` (everything; it includes
read). Keys come from `JOBDECK_API_KEYS` (`operate:k1,read:k2`) or a keys file (one
`scope:key` or `scope:sha256:<hex>` per line, `#` comments). Only the SHA-256 digest of each
key is kept in memory, a presented key is compared against every digest in constant time,
and no key is ever logged or echoed.

`Auth` asks its credential sources in turn; the first that recognises the request decides.
`ApiKeys` reads `Authorization: Bearer` and `X-API-Key`; the dashboard adds a session-cookie
source (which also checks CSRF on unsafe methods) with `auth.add_source(...)`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from fastapi import Request

from .problems import Problem

__all__ = [
    "PRINCIPAL",
    "SCOPES",
    "ApiKeys",
    "Auth",
    "CredentialSource",
    "Principal",
    "new_key",
    "parse_key_lines",
]

Scope = Literal["read", "operate"]
SCOPES: tuple[Scope, ...] = ("read", "operate")
_GRANTS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "operate": frozenset({"read", "operate"}),
}
CHALLENGE = 'Bearer realm="jobdeck", charset="UTF-8"'
PRINCIPAL = "jobdeck.principal"  # the scope key the gate (gate.py) leaves the caller under


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: what it may do and how it proved it (never the secret)."""

    scopes: frozenset[str]
    via: str  # "api-key", "session", "open"
    label: str = ""  # safe to log: e.g. "key #2" or a user name

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class CredentialSource(Protocol):
    """One way to prove who you are. Returns None when the request carries none of this
    source's credentials (the next source is asked); raises `Problem` (401/403) when it
    carries them and they are wrong."""

    def __call__(self, request: Request) -> Awaitable[Principal | None]: ...


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def parse_key_lines(lines: Iterable[str], origin: str) -> list[tuple[str, bytes]]:
    """`scope:key` or `scope:sha256:<hex>` entries; blank lines and `#` comments skipped.
    Errors name the origin and line, never the key."""
    entries: list[tuple[str, bytes]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        scope, sep, secret = line.partition(":")
        scope = scope.strip().lower()
        where = f"{origin} entry {number}"
        if not sep or scope not in SCOPES:
            raise ValueError(f"{where}: expected read:<key> or operate:<key>")
        secret = secret.strip()
        if secret.startswith("sha256:"):
            hexdigest = secret[len("sha256:") :].strip().lower()
            try:
                digest = bytes.fromhex(hexdigest)
            except ValueError:
                digest = b""
            if len(digest) != 32:
                raise ValueError(f"{where}: sha256: needs 64 hex digits")
        elif len(secret) < 16:
            raise ValueError(f"{where}: a key must be at least 16 characters")
        else:
            digest = _digest(secret)
        entries.append((scope, digest))
    return entries


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe."""
    return "jd_" + secrets.token_urlsafe(32)


class ApiKeys:
    """The configured keys, as digests. Callable as a credential source."""

    def __init__(
        self, entries: Iterable[tuple[str, bytes]] = (), origins: Iterable[str] = ()
    ) -> None:
        self.entries = list(entries)
        self.origins = list(origins)  # where the keys came from, for the banner

    def describe(self) -> str:
        """`1 operate, 1 read (JOBDECK_API_KEYS, keys.txt)`: counts and origins, no key."""
        counts = {scope: sum(1 for s, _ in self.entries if s == scope) for scope in SCOPES}
        where = f" ({', '.join(self.origins)})" if self.origins else ""
        return f"{counts['operate']} operate, {counts['read']} read{where}"

    @classmethod
    def load(cls, env: str | None = None, file: str | Path | None = None) -> ApiKeys:
        """From a `JOBDECK_API_KEYS`-style string and/or a keys file. A source that is given
        but holds no key (a file of blank lines and comments, a variable of commas) is an
        error, not "no keys": the operator meant to require keys, not to serve the queue
        open."""
        entries: list[tuple[str, bytes]] = []
        origins: list[str] = []
        if env:
            found = parse_key_lines(env.split(","), "JOBDECK_API_KEYS")
            if not found:
                raise ValueError("JOBDECK_API_KEYS is set but holds no key (operate:<key>,...)")
            entries += found
            origins.append("JOBDECK_API_KEYS")
        if file is not None:
            path = Path(file)
            try:
                text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is not text
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"--api-keys-file: cannot read {path}: {exc}") from None
            found = parse_key_lines(text.splitlines(), str(path))
            if not found:
                raise ValueError(
                    f"--api-keys-file {path} holds no key (only blank lines or comments): add "
                    "a 'read:<key>' or 'operate:<key>' line (see `jobdeck api-key new`)"
                )
            entries += found
            origins.append(f"keys file {path}")
        return cls(entries, origins)

    @classmethod
    def from_environment(cls, file: str | Path | None = None) -> ApiKeys:
        return cls.load(os.environ.get("JOBDECK_API_KEYS"), file)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def match(self, presented: str) -> Principal | None:
        digest = _digest(presented)
        found: Principal | None = None
        # Every entry is compared, so the time taken says nothing about which matched.
        for number, (scope, expected) in enumerate(self.entries, 1):
            if hmac.compare_digest(digest, expected) and found is None:
                found = Principal(_GRANTS[scope], "api-key", f"key #{number} ({scope})")
        return found

    async def __call__(self, request: Request) -> Principal | None:
        presented = _presented_key(request)
        if presented is None:
            return None
        principal = self.match(presented)
        if principal is None:
            raise Problem(401, "unknown API key", headers={"WWW-Authenticate": CHALLENGE})
        return principal


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        kind, _, value = header.strip().partition(" ")
        if kind.lower() != "bearer" or not value.strip():
            raise Problem(
                401,
                "Authorization: expected 'Bearer <key>'",
                headers={"WWW-Authenticate": CHALLENGE},
            )
        return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key is not None else None


class Auth:
    """The API's policy: credential sources asked in order, or none (`Auth.open()`: every
    caller may operate, for an app mounted behind its host's own auth)."""

    def __init__(self, sources: Iterable[CredentialSource] = (), *, required: bool = True) -> None:
        self.sources: list[CredentialSource] = list(sources)
        self.required = required

    @classmethod
    def open(cls) -> Auth:
        return cls(required=False)

    @classmethod
    def with_keys(cls, keys: ApiKeys) -> Auth:
        return cls([keys]) if keys else cls.open()

    def add_source(self, source: CredentialSource, *, first: bool = False) -> None:
        """Accept another kind of credential (the dashboard's session cookie)."""
        if first:
            self.sources.insert(0, source)
        else:
            self.sources.append(source)
        self.required = True

    def describe(self) -> str:
        """What each credential source is, one per line; never a secret."""
        if not self.required:
            return "none (no API keys): anyone who reaches this address may operate"
        lines = []
        for source in self.sources:
            describe = getattr(source, "describe", None)
            lines.append(describe() if describe else f"{type(source).__name__} (custom source)")
        return "\n".join(
            f"API keys: {line}" if isinstance(source, ApiKeys) else line
            for source, line in zip(self.sources, lines, strict=True)
        )

    async def identify(self, request: Request) -> Principal:
        if not self.required:
            return Principal(_GRANTS["operate"], "open")
        for source in self.sources:
            principal = await source(request)
            if principal is not None:
                return principal
        raise Problem(
            401, "credentials required: an API key", headers={"WWW-Authenticate": CHALLENGE}
        )

    async def check(self, request: Request, scope: Scope) -> Principal:
        """401 without credentials; 403 when they lack `scope`, or when the app is
        read-only and the scope is operate (whatever the credentials)."""
        if scope == "operate" and getattr(request.app.state, "read_only", False):
            raise Problem(403, "this server is read-only")
        principal = request.scope.get(PRINCIPAL) or await self.identify(request)
        if not principal.allows(scope):
            raise Problem(403, f"this credential lacks the {scope!r} scope")
        request.state.principal = principal
        return principal
