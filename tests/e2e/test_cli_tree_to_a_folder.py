"""A tree of 1,000 files in nested folders from the ``sendit`` command to a page that
saves into a folder its person picked (web/js/transfer/store/folder.js, the pickers'
seam answered with an origin-private folder): every path and every byte as sent, read
back from that folder in the page. The page side is a real session
(tests/web/harness/sessions.js)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from helpers.peers import OK, make_nested, start, tree_of
from helpers.server import RunningServer
from helpers.sessions import call, session_page, until

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]
#: A thousand files go one after another, each with its own messages.
RECEIVED_MS = 120_000


async def test_a_tree_of_a_thousand_files_lands_in_the_picked_folder_with_its_paths(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    album = make_nested(tmp_path / "src" / "album", 1000)
    sent = {f"album/{path}": hashlib.sha256(data).hexdigest() for path, data in tree_of(album).items()}
    assert len(sent) == 1000
    sender = await start("send", "--json", str(album), server=server.url)
    receiver = await session_page(await new_person(), server.url)
    await call(receiver, "configure", {"store": "folder", "folder": "picked"})
    await call(receiver, "receive")
    await call(receiver, "act", ["join", await sender.code()])
    offered = await until(receiver, "offered")
    assert sorted(f["name"] for f in offered["details"]["offered"]["files"]) == sorted(sent)
    await call(receiver, "act", ["accept"])
    received = await until(receiver, "received", ms=RECEIVED_MS)
    assert await sender.finish() == OK, sender.stderr
    assert sorted(f["name"] for f in received["files"]) == sorted(sent)
    assert await call(receiver, "folder") == sent
