"""TLS for the fast connections, from the same `rediss://` URL options redis-py reads.

`rediss://host:6380/0?ssl_ca_certs=ca.pem&ssl_certfile=client.pem&ssl_keyfile=client.key`
verifies the server against `ca.pem` and presents a client certificate (for a server started
with `tls-auth-clients yes`). `ssl_cert_reqs=none` turns verification off, and
`ssl_check_hostname=false` only the host name check. The options are checked when the URL is
opened, so a missing file is one clear error naming the option, not a failure on connect.
"""

from __future__ import annotations

import os
import ssl
from functools import cache
from urllib.parse import parse_qs, urlsplit

__all__ = ["check_tls_options", "tls_context", "tls_failure"]

_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_ca_path")
_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
_FALSE = ("false", "no", "0", "off")


def _options(url: str) -> dict[str, str]:
    query = parse_qs(urlsplit(url).query)
    return {name: values[-1] for name, values in query.items() if name.startswith("ssl_")}


def check_tls_options(url: str) -> None:
    """ValueError naming the option for a file that is not there or a value not understood."""
    options = _options(url)
    for name in _FILES:
        path = options.get(name)
        if path is not None and not os.path.exists(path):
            raise ValueError(f"url: {name}: no such file {path!r}")
    reqs = options.get("ssl_cert_reqs")
    if reqs is not None and reqs.lower() not in _REQS:
        raise ValueError(f"url: ssl_cert_reqs must be none, optional or required, got {reqs!r}")
    if "ssl_keyfile" in options and "ssl_certfile" not in options:
        raise ValueError("url: ssl_keyfile needs ssl_certfile (the client certificate)")


def tls_context(url: str) -> ssl.SSLContext | None:
    """The context for a `rediss://` URL (None for any other), built once per option set."""
    if urlsplit(url).scheme != "rediss":
        return None
    return _context(tuple(sorted(_options(url).items())))


@cache
def _context(options: tuple[tuple[str, str], ...]) -> ssl.SSLContext:
    opts = dict(options)
    context = ssl.create_default_context(
        cafile=opts.get("ssl_ca_certs"), capath=opts.get("ssl_ca_path")
    )
    reqs = _REQS[opts.get("ssl_cert_reqs", "required").lower()]
    if reqs == ssl.CERT_NONE or opts.get("ssl_check_hostname", "").lower() in _FALSE:
        context.check_hostname = False
    context.verify_mode = reqs
    if "ssl_certfile" in opts:
        context.load_cert_chain(opts["ssl_certfile"], opts.get("ssl_keyfile"))
    return context


def tls_failure(exc: ssl.SSLError) -> str:
    """One line saying what went wrong in a TLS handshake, and what to check."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or "certificate verify failed"
        return (
            f"TLS: the server's certificate is not trusted ({detail}); "
            "is ssl_ca_certs the CA that signed it?"
        )
    reason = exc.reason or str(exc)
    if "CERTIFICATE_REQUIRED" in str(exc) or "certificate required" in str(exc).lower():
        return "TLS: the server asks for a client certificate (ssl_certfile, ssl_keyfile)"
    if "WRONG_VERSION_NUMBER" in str(exc) or "record layer failure" in str(exc).lower():
        return f"TLS: the server did not answer in TLS ({reason}); is this its TLS port?"
    return f"TLS: {reason}"
