"""Fixtures of the network lab (tests/helpers/lab.py): one lab and one coturn for the
session; for each case, the NAT it needs, SendIt servers on fresh ports, ``sendit``
processes on lab hosts, and Chromium on lab hosts."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import pytest

from helpers import lab as lab_module
from helpers.browser import CHROMIUM_ARGS
from helpers.certs import Authority
from helpers.lab import (
    SERVER_IP,
    Host,
    Lab,
    NatKind,
    Turn,
    chromium_in,
    sendit_server,
    trusting_home,
    turnserver,
)
from helpers.peers import Sendit, start
from helpers.server import ServerProcess

from .pairs import Ends, OnHost, PersonOn

#: What the lab needs besides Python: `make test` installs the Debian packages.
TOOLS = {
    "nft": "nftables",
    "turnserver": "coturn",
    "certutil": "libnss3-tools",
    "ip": "iproute2",
    "nsenter": "util-linux",
}
HERE = Path(__file__).parent

Serve = Callable[..., Awaitable[ServerProcess]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.lab)
            item.add_marker(pytest.mark.process)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    missing = [f"{tool} (Debian: {package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        # A failure, never a skip: CI must run the lab.
        pytest.fail(f"the network lab needs {', '.join(missing)}: `make test` installs them as root")
    built = lab_module.build()
    yield built
    built.close()


@pytest.fixture(scope="session")
async def turn(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Turn]:
    async with turnserver(lab, tmp_path_factory.mktemp("turn")) as running:
        yield running


@pytest.fixture
def port_keeping(lab: Lab) -> Lab:
    lab.set_nat(NatKind.ENDPOINT_INDEPENDENT)
    return lab


@pytest.fixture
def symmetric(lab: Lab) -> Lab:
    lab.set_nat(NatKind.SYMMETRIC)
    return lab


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """A private CA (trustme) and a certificate for the lab server's address."""
    return Authority.create(tmp_path_factory.mktemp("ca"), names=(SERVER_IP,))


@pytest.fixture
async def serve(lab: Lab, authority: Authority, tmp_path: Path) -> AsyncIterator[Serve]:
    """Factory of SendIt server processes on the internet (``sendit-server`` flags as
    arguments), each on a fresh port, over HTTPS (pages need a secure context) unless
    ``tls=False``; all stopped at the end of the case."""
    async with contextlib.AsyncExitStack() as stack:
        count = 0

        async def make(*args: str, tls: bool = True) -> ServerProcess:
            nonlocal count
            count += 1
            flags = [*authority.server_args(), *args] if tls else list(args)
            return await stack.enter_async_context(sendit_server(lab, tmp_path / f"server-{count}", *flags))

        yield make


@pytest.fixture
def on_host(authority: Authority) -> OnHost:
    """``sendit ARGS`` on a lab host, offering that host's LAN address, and trusting the
    lab's CA."""

    async def run_on(host: Host, *args: str, server: str) -> Sendit:
        trust = ["--ca-file", str(authority.ca_file)] if server.startswith("https:") else []
        return await start(*args, *host.local_ip, *trust, server=server, loopback=False, prefix=host.enter)

    return run_on


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as running:
        yield running


@pytest.fixture(scope="session")
async def lab_browsers(
    playwright: Any, authority: Authority, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Callable[[Host], Awaitable[Any]]]:
    """One Chromium per lab host, launched the first time a case needs it, inside the
    host's namespace, trusting the lab's CA as an installed one."""
    directory = tmp_path_factory.mktemp("chromium")
    home = trusting_home(directory / "home", authority.ca_file)
    browsers: dict[str, Any] = {}
    # No loopback candidates (lab hosts have real addresses, offered as a browser does:
    # behind mDNS names, since no page here is granted a microphone); no name resolves.
    args = [arg for arg in CHROMIUM_ARGS if not arg.startswith(("--host-resolver-rules", "--allow-loopback"))]
    args.append(f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {SERVER_IP}")

    async def browser_on(host: Host) -> Any:
        if host.name not in browsers:
            browsers[host.name] = await playwright.chromium.launch(
                executable_path=str(chromium_in(host, directory, home)), args=args, headless=True
            )
        return browsers[host.name]

    yield browser_on
    for browser in browsers.values():
        await browser.close()


@pytest.fixture
async def person_on(lab_browsers: Callable[[Host], Awaitable[Any]]) -> AsyncIterator[PersonOn]:
    """Factory of browser contexts (one person each) in the Chromium of a lab host."""
    contexts: list[Any] = []

    async def make(host: Host) -> Any:
        context = await (await lab_browsers(host)).new_context(accept_downloads=True)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture
def ends(on_host: OnHost, person_on: PersonOn) -> Ends:
    return Ends(on_host, person_on)
