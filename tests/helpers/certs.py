"""A private certificate authority (``trustme``) and the files and contexts made from it,
for servers that speak HTTPS on 127.0.0.1 and the clients that verify them."""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path

import trustme

from signal_server import tls

#: The names the server's certificate holds: how tests reach it.
SERVER_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclasses.dataclass
class Authority:
    """A CA of the test's own and a server certificate it issued, written as PEM files
    into ``directory`` (for ``--tls-cert``/``--tls-key`` and a client's ``--ca-file``)."""

    ca: trustme.CA
    cert_file: Path
    key_file: Path
    ca_file: Path

    @classmethod
    def create(cls, directory: Path) -> "Authority":
        ca = trustme.CA()
        issued = ca.issue_cert(*SERVER_NAMES)
        authority = cls(
            ca=ca, cert_file=directory / "cert.pem", key_file=directory / "key.pem", ca_file=directory / "ca.pem"
        )
        issued.private_key_pem.write_to_path(str(authority.key_file))
        # The chain as a server sends it: its own certificate first.
        authority.cert_file.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        ca.cert_pem.write_to_path(str(authority.ca_file))
        return authority

    def server_context(self) -> ssl.SSLContext:
        """What ``running_server(ssl_context=...)`` serves HTTPS with."""
        return tls.server_context(self.cert_file, self.key_file)

    def client_context(self) -> ssl.SSLContext:
        """A client's context that trusts this CA (and nothing else)."""
        return ssl.create_default_context(cafile=self.ca_file)

    def server_args(self) -> list[str]:
        """``sendit-server``'s flags that serve HTTPS with this certificate."""
        return ["--tls-cert", str(self.cert_file), "--tls-key", str(self.key_file)]
