"""Whom the CLI trusts to be the SendIt server over HTTPS, and why it would not.

Certificates are always verified. ``--ca-file`` replaces the system's authorities with
a private one (a server with a certificate of its own CA), as curl's ``--cacert`` does:
the point of naming a CA is that no other can vouch for that server.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from ..errors import UsageError

SCHEMES = ("http", "https")


def check_server(url: str) -> str:
    """``url`` without a trailing slash, if it can name a SendIt server."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise UsageError(f"{url}: not an http:// or https:// URL of a SendIt server")
    return url.rstrip("/")


def trusting(ca_file: str) -> ssl.SSLContext:
    """A client context that believes only the certificate authorities in ``ca_file``."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except OSError as error:
        if isinstance(error, ssl.SSLError):
            raise UsageError(f"--ca-file {ca_file}: not a PEM file of CA certificates") from None
        raise UsageError(f"--ca-file {ca_file}: {error.strerror}") from None


def unverified(error: BaseException) -> str | None:
    """Why the server's certificate was not believed, if that is what ``error`` is.

    python-socketio and engineio re-raise a failed connection as their own error with
    no words; the reason is further down the chain, on ssl's own error (aiohttp's on
    the way counts as one too, but without the reason)."""
    seen: BaseException | None = error
    while seen is not None:
        reason = getattr(seen, "verify_message", None) if isinstance(seen, ssl.SSLCertVerificationError) else None
        if reason:
            return str(reason)
        seen = seen.__cause__ or seen.__context__
    return None
