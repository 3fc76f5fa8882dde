"""The one door every HTTP request goes through, before the app reads a byte of its body.

`Gate` is an ASGI middleware around the whole app. From the request line and headers alone
it checks, in order:

1. the `Host` header, when the app has a list of allowed hosts (a keyless server on loopback
   has one: a DNS-rebinding page names its own host and is refused);
2. who is calling (`Auth.identify` on a `Request` that cannot read the body) and whether
   they may: safe methods need the `read` scope, every other method `operate`, except the
   few paths `AccessRules` opens (health probes, the dashboard's own files, sign-in);
3. for callers without a credential of their own (keyless mode) or with a session cookie,
   that a write does not come from another site (`Sec-Fetch-Site`, `Origin`), and, keyless,
   that it carries a header a cross-site page cannot send without the server's consent;
4. the body: refused by its declared length (413) before it is read; otherwise read within
   its size and time bounds (`limits.read_body`) and handed to the app in one piece.

Only then does the app run. Routes added later (by any module) are covered without doing
anything: what is not opened here needs a credential. The principal is left in the scope
(`PRINCIPAL`) for the routes' own scope checks (`deps.py`). `HEAD` is answered as `GET`
without the body, for every GET route.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import PRINCIPAL, Principal
from .errors import log, unavailable
from .limits import MAX_SIGN_IN_BODY, BodyLimits, ClientGone, declared_length, read_body, too_large
from .problems import Problem, problem_response

__all__ = ["PRINCIPAL", "Access", "AccessRules", "Gate", "is_json", "route_path"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A refused request's body is left unread; up to this much the server's parser skips it and
# keeps the connection, past it (or chunked) the connection is closed after the answer.
_SKIP_UNREAD = 1024 * 1024


class Access(Enum):
    PUBLIC = "public"  # anyone
    SIGN_IN = "sign-in"  # anyone, with a small JSON body
    SIGNED_IN = "signed-in"  # any credential, whatever its scope (signing out)
    READ = "read"
    OPERATE = "operate"


@dataclass
class AccessRules:
    """Which requests need less than the default (safe methods: read; others: operate).
    Paths are the app's own (without the prefix it is mounted under)."""

    sign_in: str = "/api/v1/session"
    public: set[str] = field(default_factory=set)  # exact paths, GET and HEAD
    public_files: set[str] = field(default_factory=set)  # first segments of static files

    def open_paths(self, paths: Iterable[str]) -> None:
        self.public.update(paths)

    def open_files(self, first_segments: Iterable[str]) -> None:
        """The dashboard's files (`/`, `/index.html`, `/js/...`): the page must load
        before anyone has signed in."""
        self.public_files.update(first_segments)

    def access(self, method: str, path: str) -> Access:
        if path == self.sign_in:
            if method == "POST":
                return Access.SIGN_IN
            if method == "DELETE":
                return Access.SIGNED_IN
        if method in SAFE_METHODS:
            if path in self.public:
                return Access.PUBLIC
            first = path[1:].split("/", 1)[0]
            if first in self.public_files and ".." not in path:
                return Access.PUBLIC
            return Access.READ
        return Access.OPERATE


def route_path(scope: Scope) -> str:
    """The path inside this app (its mount prefix, `root_path`, taken off)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path


def is_json(content_type: str | None) -> bool:
    """`application/json`, with parameters or not, and nothing else (not a substring test:
    `text/plain; x=application/json` is text)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json"


def _host_name(value: str) -> str:
    """`example.com:8080` -> `example.com`; `[::1]:8080` -> `::1`."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def loopback_hosts() -> frozenset[str]:
    return frozenset({"localhost", "127.0.0.1", "::1"})


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    if "*" in allowed:
        return True
    name = _host_name(host)
    if name in allowed:
        return True
    if name.endswith(".localhost") and "localhost" in allowed:
        return True  # browsers resolve *.localhost to loopback themselves
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(name).is_loopback and "127.0.0.1" in allowed
    return False


class Gate:
    """See the module's docstring. Reads its configuration from the app's state
    (`auth`, `read_only`, `access`, `allowed_hosts`, `body_limits`) at each request, so
    credential sources added after the app was built (the dashboard's sessions) count."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the API has none: refused before anything
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = None
        if scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
            head = _Head(send)
            send = head.send
        try:
            receive = await self._admit(scope, receive)
        except Problem as problem:
            await _answer(problem, scope)(scope, receive, send)
            return
        except ClientGone:
            return
        except (RedisError, OSError) as exc:  # a session's check needs the queue's server
            log.warning("queue server unreachable: %s", type(exc).__name__)
            await problem_response(unavailable(exc))(scope, receive, send)
            return
        await self.app(scope, head.receiving(receive) if head else receive, send)

    async def _admit(self, scope: Scope, receive: Receive) -> Receive:
        state = scope["app"].state
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        allowed: frozenset[str] | None = getattr(state, "allowed_hosts", None)
        request = Request(scope)  # headers and cookies only: it cannot read the body
        if allowed is not None and not host_allowed(request.headers.get("host", ""), allowed):
            problem = Problem(400, "this server does not answer for that Host", field="header.host")
            raise _closing(problem)
        rules: AccessRules = state.access
        access = rules.access(scope["method"], route_path(scope))
        length = declared_length(headers)
        limits: BodyLimits = state.body_limits
        max_bytes = MAX_SIGN_IN_BODY if access is Access.SIGN_IN else limits.max_bytes
        try:
            if access is Access.SIGN_IN and not is_json(request.headers.get("content-type")):
                # A cross-site form cannot send JSON without a CORS preflight (login CSRF).
                raise Problem(
                    415, 'send the key as JSON: {"key": "..."}', field="header.content-type"
                )
            if access not in (Access.PUBLIC, Access.SIGN_IN):
                principal = await self._authorize(request, access)
                scope[PRINCIPAL] = principal
            if length is not None and length > max_bytes:
                raise too_large(max_bytes)
        except Problem as problem:
            # Refused without reading the body: a small one is skipped by the server's
            # parser and the connection kept; a large or chunked one ends the connection.
            if (length is None and _has_body(headers)) or (length or 0) > _SKIP_UNREAD:
                problem.headers.setdefault("Connection", "close")
            raise
        if length == 0 or (length is None and not _has_body(headers)):
            return receive
        body = await read_body(receive, max_bytes, limits)
        return _replay(body, receive)

    async def _authorize(self, request: Request, access: Access) -> Principal:
        state = request.app.state
        principal: Principal = await state.auth.identify(request)
        if access is Access.OPERATE:
            if getattr(state, "read_only", False):
                raise Problem(403, "this server is read-only")
            if not principal.allows("operate"):
                raise Problem(403, "this credential lacks the 'operate' scope")
        elif access is Access.READ and not principal.allows("read"):
            raise Problem(403, "this credential lacks the 'read' scope")
        if request.method not in SAFE_METHODS and principal.via in ("open", "session"):
            _same_site(request, principal)
        return principal


_SIGN_IN_FIRST = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign in first</title></head><body><p>This page needs you signed in:
<a href="{root}/">sign in on the dashboard</a>, then come back.</p></body></html>"""


def _answer(problem: Problem, scope: Scope) -> Response:
    """The problem as JSON; a browser that navigated to a page without signing in (the
    API docs) gets a line of HTML pointing to the sign-in instead."""
    accept = next((v for k, v in scope["headers"] if k == b"accept"), b"")
    if problem.status == 401 and scope["method"] == "GET" and b"text/html" in accept:
        root = html.escape(scope.get("root_path", "").rstrip("/"), quote=True)
        return HTMLResponse(
            _SIGN_IN_FIRST.format(root=root),
            status_code=401,
            headers={
                **problem.headers,
                "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
                "Cache-Control": "no-store",
            },
        )
    return problem_response(problem)


def _same_site(request: Request, principal: Principal) -> None:
    """A write made by a browser on its own (a cookie, or no credential at all) must come
    from this server's own pages."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise Problem(
            403, f"a {site} request may not change anything here", field="header.sec-fetch-site"
        )
    if principal.via != "open":
        return  # a session's writes also carry its CSRF token (checked by the session source)
    origin = request.headers.get("origin")
    if origin is not None and not _same_origin(origin, request):
        raise Problem(
            403,
            "a request from another origin may not change anything here",
            field="header.origin",
        )
    if "x-csrf-token" not in request.headers and not is_json(request.headers.get("content-type")):
        raise Problem(
            403,
            "without API keys, a write must carry Content-Type: application/json or an "
            "X-CSRF-Token header (a page of another site cannot send either)",
            field="header.content-type",
        )


def _same_origin(origin: str, request: Request) -> bool:
    """`Origin` names this server: the same host and port as the request's `Host`."""
    host = request.headers.get("host", "")
    try:
        parts = urlsplit(origin)
        port = parts.port or _default_port(parts.scheme)
    except ValueError:
        return False
    if origin == "null" or not parts.hostname or _host_name(parts.netloc) != _host_name(host):
        return False
    return port == (_port(host) or _default_port(request.url.scheme))


def _port(host: str) -> int | None:
    tail = host.rsplit("]", 1)[-1]
    if ":" in tail:
        with contextlib.suppress(ValueError):
            return int(tail.rsplit(":", 1)[1])
    return None


def _default_port(scheme: str) -> int:
    return 443 if scheme in ("https", "wss") else 80


def _closing(problem: Problem) -> Problem:
    problem.headers.setdefault("Connection", "close")
    return problem


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"transfer-encoding" for name, _ in headers) or any(
        name == b"content-length" and value.strip() != b"0" for name, value in headers
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then the real channel (which reports the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _Head:
    """`HEAD` answered as `GET`: the status and headers (its Content-Length too), no body
    bytes; once the headers are out, a streaming route (the event stream) is told the
    client left, so it stops instead of streaming to nowhere."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.answered = asyncio.Event()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._send(message)
        elif message["type"] == "http.response.body" and not self.answered.is_set():
            self.answered.set()
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    def receiving(self, receive: Receive) -> Receive:
        async def head_receive() -> Message:
            if self.answered.is_set():
                return {"type": "http.disconnect"}
            real = asyncio.ensure_future(receive())
            answered = asyncio.ensure_future(self.answered.wait())
            await asyncio.wait((real, answered), return_when=asyncio.FIRST_COMPLETED)
            answered.cancel()
            if real.done():
                return real.result()
            real.cancel()
            return {"type": "http.disconnect"}

        return head_receive
