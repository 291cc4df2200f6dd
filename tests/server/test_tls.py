"""HTTPS served by the server itself (signal_server.tls, --tls-cert/--tls-key): good files
serve real clients that trust the CA, bad ones are refused at start-up naming the flag."""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from pathlib import Path

import aiohttp
import pytest
import socketio
from cryptography.hazmat.primitives import serialization

from helpers.certs import Authority
from helpers.config import refused
from helpers.server import Client, free_port, server_process
from signal_server.config import load_config
from signal_server.tls import TlsFileError, insecure_page_warning, server_context


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority.create(tmp_path)


def other_key(tmp_path: Path) -> Path:
    """The private key of a certificate other than the authority's server certificate."""
    other = tmp_path / "other"
    other.mkdir(exist_ok=True)
    return Authority.create(other).key_file


def test_a_certificate_and_its_key_make_a_server_context(authority: Authority) -> None:
    context = server_context(authority.cert_file, authority.key_file)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_NONE  # browsers bring no client certificate


@pytest.mark.parametrize(
    ("fault", "which", "words"),
    [
        ("no cert file", "cert", "cannot read"),
        ("cert is a directory", "cert", "cannot read"),
        ("no key file", "key", "cannot read"),
        ("cert is junk", "cert", "holds no PEM certificate"),
        ("cert is the key", "cert", "holds no PEM certificate"),
        ("key is junk", "key", "holds no PEM private key"),
        ("key is the cert", "key", "holds no PEM private key"),
        ("key of another certificate", "key", "is not the private key of the certificate"),
        ("key is encrypted", "key", "is encrypted"),
    ],
)
def test_files_that_cannot_serve_https_are_named_with_what_is_wrong(
    authority: Authority, tmp_path: Path, fault: str, which: str, words: str
) -> None:
    cert, key = authority.cert_file, authority.key_file
    junk = tmp_path / "junk.pem"
    junk.write_text("not a PEM file\n")
    if fault == "no cert file":
        cert = tmp_path / "missing.pem"
    elif fault == "cert is a directory":
        cert = tmp_path
    elif fault == "no key file":
        key = tmp_path / "missing.pem"
    elif fault == "cert is junk":
        cert = junk
    elif fault == "cert is the key":
        cert = authority.key_file
    elif fault == "key is junk":
        key = junk
    elif fault == "key is the cert":
        key = authority.cert_file
    elif fault == "key of another certificate":
        key = other_key(tmp_path)
    elif fault == "key is encrypted":
        key = tmp_path / "encrypted.pem"
        plain = serialization.load_pem_private_key(authority.key_file.read_bytes(), password=None)
        key.write_bytes(
            plain.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            )
        )
    with pytest.raises(TlsFileError) as error:
        server_context(cert, key)
    assert error.value.which == which
    assert words in str(error.value)
    assert str(cert if which == "cert" else key) in str(error.value)


def test_flags_and_variables_name_the_files(authority: Authority) -> None:
    config = load_config(authority.server_args(), env={})
    assert (config.tls_cert, config.tls_key) == (authority.cert_file, authority.key_file)
    from_env = load_config(
        [], env={"SENDIT_TLS_CERT": str(authority.cert_file), "SENDIT_TLS_KEY": str(authority.key_file)}
    )
    assert from_env == config
    assert config.tls_context() is not None
    assert load_config([], env={}).tls_context() is None


def test_a_certificate_without_its_key_is_refused_naming_what_is_missing(
    authority: Authority, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, ["--tls-cert", str(authority.cert_file)])
    assert "argument --tls-cert: HTTPS needs both --tls-cert and --tls-key; --tls-key is missing" in err
    err = refused(capsys, [], env={"SENDIT_TLS_KEY": str(authority.key_file)})
    assert "argument --tls-key: HTTPS needs both --tls-cert and --tls-key; --tls-cert is missing" in err


def test_a_bad_file_is_refused_at_start_up_naming_its_flag(
    authority: Authority, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, ["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(authority.key_file)])
    assert f"argument --tls-cert: cannot read {tmp_path / 'missing.pem'}" in err
    err = refused(capsys, ["--tls-cert", str(authority.cert_file), "--tls-key", str(other_key(tmp_path))])
    assert "argument --tls-key:" in err and "is not the private key of the certificate" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("host", "tls", "behind_proxy", "warned"),
    [
        ("0.0.0.0", False, False, True),
        ("::", False, False, True),
        ("192.0.2.5", False, False, True),
        ("sendit.example", False, False, True),
        ("0.0.0.0", True, False, False),
        ("0.0.0.0", False, True, False),
        ("127.0.0.1", False, False, False),
        ("127.0.0.2", False, False, False),
        ("::1", False, False, False),
        ("localhost", False, False, False),
    ],
)
def test_plain_http_beyond_loopback_is_warned_about(host: str, tls: bool, behind_proxy: bool, warned: bool) -> None:
    warning = insecure_page_warning(host, tls, behind_proxy)
    assert (warning is not None) == warned
    if warning is not None:
        assert host in warning and "--tls-cert" in warning and "--trusted-proxy" in warning


@pytest.mark.process
async def test_the_server_process_serves_https_and_wss_to_clients_that_trust_its_ca(authority: Authority) -> None:
    async with server_process(*authority.server_args()) as server:
        assert server.url.startswith("https://127.0.0.1:")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/", ssl=authority.client_context()) as response:
                assert response.status == 200
                assert "Content-Security-Policy" in response.headers
            # The system's CAs do not include the test's own: the certificate is not believed.
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await http.get(f"{server.url}/")
            # Plain HTTP to the HTTPS port gets no page.
            with pytest.raises(aiohttp.ClientError):
                async with http.get(server.url.replace("https://", "http://") + "/") as response:
                    await response.read()

        sender = await Client(authority.client_context()).connect(server.url)
        receiver = await Client(authority.client_context()).connect(server.url)
        slot = (await sender.create())["slot"]
        assert (await receiver.join(slot))["ok"]
        await sender.next("peer_joined")
        await sender.close()
        await receiver.close()

        untrusting = Client()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await untrusting.connect(server.url)


@pytest.mark.process
async def test_plain_http_on_every_address_warns_at_start_up() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signal_server",
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SENDIT_TRUSTED_PROXIES": ""},
    )
    assert process.stderr is not None
    try:
        assert f"http://0.0.0.0:{port}/" in (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        lines = [(await asyncio.wait_for(process.stderr.readline(), 10)).decode() for _ in range(2)]
        warnings = [line for line in lines if " WARNING " in line]
        assert len(warnings) == 1, lines
        assert "listening on 0.0.0.0 over plain HTTP" in warnings[0]
    finally:
        process.terminate()
        await process.wait()
