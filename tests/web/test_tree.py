"""web/js/transfer/tree.js and web/js/ui/tree-list.js in Chromium (the runner is
tests/web/harness/tree.js): the order a folder's files go in is the command line's, a
folder's totals cover everything under it, and the list paints what happened to a file
whose row was not on the page yet."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from helpers.browser import run_harness
from peer.transfer.source import collect


async def test_a_folder_goes_in_the_order_sendit_walks_it(page: Any, tmp_path: Path) -> None:
    names = ["b.txt", "a.txt", "sub/z.txt", "sub/deeper/y.txt", "sub/a.txt", "aa/x.txt", "a/b/c.txt", "Z.txt"]
    for name in names:
        path = tmp_path / "root" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    walked = [source.name for source in collect([str(tmp_path / "root")])]
    shuffled = walked[:]
    random.Random(15).shuffle(shuffled)
    assert shuffled != walked
    assert await run_harness(page, "tree.js", "order", shuffled) == walked


async def test_a_folder_counts_and_moves_with_everything_under_it(page: Any) -> None:
    files = [{"name": "loose", "size": 5}, {"name": "p/a", "size": 10}, {"name": "p/q/b", "size": 20}]
    steps = [["progress", 2, 15], ["progress", 2, 4], ["finish", 2], ["finish", 1], ["finish", 0]]
    result = await run_harness(page, "tree.js", "totals", {"files": files, "steps": steps})
    # A file's bytes may go back (a break, resumed from its last whole block).
    assert result["changed"][:2] == [["p/q/b", "p/q", "p", ""]] * 2
    assert result["folders"] == {"": [3, 35, 35, 3], "p": [2, 30, 30, 2], "p/q": [1, 20, 20, 1]}


async def test_a_file_finished_before_its_row_is_shown_shows_it_once_shown(page: Any) -> None:
    files = [{"name": f"in/f{i:03}", "size": i} for i in range(250)]
    result = await run_harness(page, "tree.js", "receiveRows", {"files": files, "index": 240})
    # Closed, the folder is one row, and says how much of it is through.
    assert result["before"] == {"state": "1 of 250 verified ✓", "rows": 1}
    # Opened and paged to the end: the file's row has its state and its Save link, and
    # a list without a remove callback has no Remove buttons.
    assert result["after"] == {"rows": 250, "state": "verified ✓", "saves": 1, "saveInRow": True, "removes": 0}
