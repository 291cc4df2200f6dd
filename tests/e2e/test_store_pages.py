"""Where the receiving page puts files (web/js/transfer/store/), through the page as a
person uses it, with a ``sendit`` process sending a tree: the folder they pick (the
pickers' seam answered with an origin-private folder, as headless Chromium refuses the
real pickers), this browser's storage with one ZIP for "Save all", and memory with its
limit said before anything is accepted."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from playwright.async_api import expect

from helpers.browser import UI_TIMEOUT, open_offer
from helpers.peers import OK, start, tree_of
from helpers.server import RunningServer

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]

#: The pickers answer with this origin-private folder, as a person's pick would.
PICK = """async () => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true });
  (await import('/js/transfer/store/pickers.js')).answerPickersWith(dir);
}"""

#: Every file of the picked folder, as {path: base64}.
PICKED = """async () => {
  const out = {};
  const walk = async (dir, prefix) => {
    for await (const [name, handle] of dir.entries()) {
      if (handle.kind === 'directory') await walk(handle, prefix + name + '/');
      else {
        const data = new Uint8Array(await (await handle.getFile()).arrayBuffer());
        out[prefix + name] = btoa(Array.from(data, (b) => String.fromCharCode(b)).join(''));
      }
    }
  };
  await walk(await (await navigator.storage.getDirectory()).getDirectoryHandle('picked'), '');
  return out;
}"""

#: A browser with neither a folder picker nor an origin-private file system.
NO_DISK = """
for (const owner of [window, Window.prototype]) {
  delete owner.showDirectoryPicker;
  delete owner.showSaveFilePicker;
}
delete StorageManager.prototype.getDirectory;
"""


def small_tree(root: Path) -> Path:
    """A folder to send: nested folders, an empty file, a file of a few blocks."""
    album = root / "album"
    (album / "2025" / "summer").mkdir(parents=True)
    (album / "2025" / "summer" / "beach.raw").write_bytes(bytes(range(256)) * 9000)
    (album / "2025" / "notes.txt").write_text("sunny\n")
    (album / "empty").write_bytes(b"")
    return album


async def receive_tree(server: RunningServer, new_person: Person, tmp_path: Path, init: str | None = None) -> Any:
    source = tmp_path / "src"
    source.mkdir()
    sender = await start("send", "--json", str(small_tree(source)), server=server.url)
    context = await new_person()
    if init:
        await context.add_init_script(init)
    receiver = await open_offer(context, server.url, await sender.code())
    return sender, receiver, {f"album/{name}": data for name, data in tree_of(source / "album").items()}


async def test_a_tree_goes_into_the_picked_folder_with_its_paths(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    sender, receiver, tree = await receive_tree(server, new_person, tmp_path)
    await expect(receiver.locator("#offer-where")).to_have_text("When you accept, you choose where the files go.")
    await receiver.evaluate(PICK)
    await receiver.click("#accept")
    await expect(receiver.locator("#receive-status")).to_have_text(
        "All 3 files received and verified. Saved in the folder “picked”.", timeout=UI_TIMEOUT
    )
    picked = {name: base64.b64decode(data) for name, data in (await receiver.evaluate(PICKED)).items()}
    assert picked == tree
    # Nothing to save again: no link, no "Save all".
    assert await receiver.locator("#receive-files a.save").count() == 0
    await expect(receiver.locator("#save-all")).to_be_hidden()
    assert await sender.finish() == OK, sender.stderr


async def test_save_all_is_one_zip_of_the_tree_when_no_folder_is_picked(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    sender, receiver, tree = await receive_tree(server, new_person, tmp_path)
    # Headless Chromium's picker answers as a person who picked no folder would.
    await receiver.click("#accept")
    await expect(receiver.locator("#receive-status")).to_contain_text("received and verified", timeout=UI_TIMEOUT)
    await expect(receiver.locator("#receive-where")).to_have_text(
        "The files are kept in this browser's storage on disk: save them below."
    )
    save_all = receiver.locator("#save-all")
    await expect(save_all).to_have_text("Save all (album.zip)")
    async with receiver.expect_download() as info:
        await save_all.click()
    download = await info.value
    assert download.suggested_filename == "album.zip"
    target = tmp_path / "album.zip"
    await download.save_as(target)
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        assert archive.testzip() is None
        assert {i.filename: archive.read(i) for i in archive.infolist()} == tree
    assert await sender.finish() == OK, sender.stderr


async def test_memory_says_its_limit_before_accepting_and_refuses_more(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    big = tmp_path / "big.iso"
    with big.open("wb") as f:
        f.truncate(2_000_000_000)  # sparse: offered, never read
    sender = await start("send", "--json", str(big), server=server.url)
    context = await new_person()
    await context.add_init_script(NO_DISK)
    receiver = await open_offer(context, server.url, await sender.code())
    words = "This browser can keep about 1.5 GB in memory; use Chrome or the `sendit` command for larger files."
    await expect(receiver.locator("#offer-where")).to_have_text(f"These files are 2.0 GB. {words}")
    await receiver.click("#accept")
    refused = f"These files are 2.0 GB: {words[0].lower()}{words[1:]}"
    await expect(receiver.locator("#receive-status")).to_have_text(refused)
    # Still offered, nothing accepted: the person can decline.
    await receiver.click("#decline")
    await expect(receiver.locator("#receive-status")).to_contain_text("You declined")
    await sender.finish()
