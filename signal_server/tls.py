"""HTTPS for a server that faces browsers itself: the TLS context of ``--tls-cert`` and
``--tls-key``, built so that a bad file is a sentence naming it, never a traceback."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn


@dataclass
class TlsFileError(ValueError):
    """A certificate or key the server cannot use; ``which`` says which of the two."""

    which: Literal["cert", "key"]
    reason: str

    def __str__(self) -> str:
        return self.reason


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The context that serves ``cert`` (PEM, the server's certificate first, then any
    intermediates) with its private ``key`` (PEM, not encrypted)."""
    cert_text = _read(cert, "cert")
    _read(key, "key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # A certificate file is checked alone first, so that a fault of the pair below is the key's.
    try:
        ssl.create_default_context(cadata=cert_text)
    except (ssl.SSLError, ValueError):
        raise TlsFileError("cert", f"{cert} holds no PEM certificate") from None

    def no_passphrase() -> NoReturn:
        # Without this callback OpenSSL would prompt on the terminal, and a server started
        # by a service manager would hang there.
        raise TlsFileError("key", f"{key} is encrypted; give the key without a passphrase")

    try:
        context.load_cert_chain(cert, key, password=no_passphrase)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsFileError("key", f"{key} is not the private key of the certificate in {cert}") from None
        raise TlsFileError("key", f"{key} holds no PEM private key") from None
    return context


def _read(path: Path, which: Literal["cert", "key"]) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise TlsFileError(which, f"cannot read {path}: {exc.strerror or exc}") from None


def insecure_page_warning(host: str, tls: bool, behind_proxy: bool) -> str | None:
    """What to tell the operator when browsers on other machines will reach the page over
    plain HTTP, where they give it no secure context and so no ``crypto.subtle``: the page
    then cannot work. None when the server uses TLS, sits behind a proxy (which may do
    TLS), or listens on loopback alone (``localhost`` counts as secure)."""
    if tls or behind_proxy or _is_loopback(host):
        return None
    return (
        f"listening on {host} over plain HTTP: browsers on other machines will not run the page "
        "(it needs HTTPS, a secure context). Give --tls-cert and --tls-key, or put a reverse proxy "
        "that does HTTPS in front and name it with --trusted-proxy"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
