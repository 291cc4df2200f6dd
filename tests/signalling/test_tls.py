"""peer/signalling/tls.py: which servers the CLI takes, and whom it trusts to be them."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest

from helpers.certs import Authority
from peer.errors import UsageError
from peer.signalling.tls import check_server, trusting


@pytest.mark.parametrize(
    "url, checked",
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://sendit.example", "https://sendit.example"),
        ("HTTPS://sendit.example/", "HTTPS://sendit.example"),
    ],
)
def test_http_and_https_urls_are_servers(url: str, checked: str) -> None:
    assert check_server(url) == checked


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://sendit.example", "https://", "sendit.example"])
def test_anything_else_is_refused_before_going_online(url: str) -> None:
    with pytest.raises(UsageError, match=f"^{re.escape(url)}: not an http:// or https:// URL of a SendIt server$"):
        check_server(url)


def test_a_ca_file_is_the_only_authority_trusted(tmp_path: Path) -> None:
    authority = Authority.create(tmp_path)
    context = trusting(str(authority.ca_file))
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert [cert["subject"] for cert in context.get_ca_certs()] == [
        cert["subject"] for cert in authority.client_context().get_ca_certs()
    ]


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("missing.pem", None, "No such file or directory"),
        ("empty.pem", b"", "not a PEM file of CA certificates"),
        (
            "key.pem",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "not a PEM file of CA certificates",
        ),
        (".", None, "Is a directory"),
    ],
)
def test_a_ca_file_that_cannot_be_used_is_a_usage_error(
    tmp_path: Path, name: str, content: bytes | None, problem: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError, match=f"^--ca-file {re.escape(str(path))}: {problem}$"):
        trusting(str(path))
