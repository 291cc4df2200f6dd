"""Big files from browser to browser: what the receiving browser holds, and how fast.

A Chromium page sends one file to a Chromium page through a real server; sender and
receiver are separate Chromium processes, each with Playwright's default (private)
context, so the receiving browser's whole process tree (browser, renderers, GPU,
network and storage services) can be sampled from /proc every half second. Its growth
is the peak during the transfer and the Save minus its size just before Accept. The
file is then saved as a person would (its Save link: a download) and the download
hashed against the source, streaming: Save must give the exact bytes.

Ours is the page's own choice of where files go; the baseline is the in-memory Blob
path at the first size, forced by taking the File System Access API and the
origin-private file system away from the receiving page (as a browser without them).
Each transfer gets a fresh receiving browser, so memory freed by one cannot hide the
growth of the next; each size runs once (a 4 GiB transfer takes minutes here).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from playwright.async_api import async_playwright, expect

from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT, new_context, open_offer, start_sending
from tests.helpers.server import server_process

from .config import MB, MIB, BenchConfig
from .files import random_file
from .process_tree import find_process, sampled
from .results import Result

GROWTH_LIMIT = 300 * MB
#: A guard, never a synchronisation: 4 GiB at 5 MB/s on a loaded machine fits.
TRANSFER_TIMEOUT = 1800.0
HASH_BLOCK = MIB

#: Marks the moment Accept is clicked and the moment the receive ends (its status kind:
#: "ok" once every file is verified, "error" otherwise), in the page's own clock.
MARK_ENDS = """() => {
  const marks = (window.benchMarks = {});
  document.getElementById("accept").addEventListener("click", () => { marks.accepted = performance.now(); },
    { capture: true });
  const again = document.getElementById("receive-again");
  const status = document.getElementById("receive-status");
  new MutationObserver(() => {
    if (!again.hidden && marks.ended === undefined) {
      marks.ended = performance.now();
      marks.kind = status.dataset.kind;
      marks.status = status.textContent;
    }
  }).observe(again, { attributes: true });
}"""

#: A browser that keeps files only in memory: no File System Access API, no OPFS.
BLOB_ONLY = """
for (const name of ["showDirectoryPicker", "showSaveFilePicker", "showOpenFilePicker"]) delete window[name];
if (window.StorageManager) delete StorageManager.prototype.getDirectory;
"""


@dataclass
class Received:
    """One receive of ``size`` bytes: ``seconds`` from Accept to the end, the receiving
    browser's tree RSS just before Accept and its peak until the Save was hashed."""

    size: int
    seconds: float
    before: int
    peak: int
    exact: bool
    #: How the page ended ("ok" when every file was verified) and what it said.
    kind: str
    status: str
    #: What went wrong on the way, in words (None when nothing did).
    failure: str | None = None

    @property
    def growth(self) -> int:
        return self.peak - self.before

    @property
    def rate(self) -> float:
        """MB/s."""
        return self.size / self.seconds / MB

    def as_detail(self) -> dict[str, Any]:
        return {
            "bytes": self.size,
            "seconds": round(self.seconds, 2),
            "rss_before_mb": round(self.before / MB, 1),
            "rss_peak_mb": round(self.peak / MB, 1),
            "rss_growth_mb": round(self.growth / MB, 1),
            "saved_exact": self.exact,
            "page_said": self.status,
            "failure": self.failure,
        }


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read a block at a time (never whole in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Way:
    """How the receiving browser runs: Playwright's default (private) context or a normal
    profile on disk, and whether the page is left only the in-memory Blob path."""

    profile: bool = False
    blob_only: bool = False

    @property
    def name(self) -> str:
        return ("Blob path" if self.blob_only else "ours") + (", normal profile" if self.profile else "")


@contextlib.asynccontextmanager
async def chromium(playwright: Any, role: str) -> AsyncIterator[tuple[Any, int]]:
    """A Chromium process of its own, and the process id at the top of its tree."""
    marker = f"--sendit-bench-{role}"
    browser = await playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, marker], headless=True
    )
    try:
        yield browser, find_process(marker)
    finally:
        await browser.close()


@contextlib.asynccontextmanager
async def receiving(playwright: Any, way: Way, scratch: Path) -> AsyncIterator[tuple[Any, int]]:
    """A fresh receiving Chromium process run ``way``: its context (one person, as
    tests/helpers/browser.py's new_context makes them) and the top of its tree."""
    if not way.profile:
        async with chromium(playwright, "receiver") as (browser, root):
            context = await new_context(browser)
            if way.blob_only:
                await context.add_init_script(BLOB_ONLY)
            yield context, root
        return
    marker = "--sendit-bench-receiver"
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=scratch))
    context = await playwright.chromium.launch_persistent_context(
        profile, executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, marker], headless=True, accept_downloads=True
    )
    try:
        await context.grant_permissions(["microphone"])
        if way.blob_only:
            await context.add_init_script(BLOB_ONLY)
        yield context, find_process(marker)
    finally:
        await context.close()
        shutil.rmtree(profile, ignore_errors=True)


#: The pickers' seam (web/js/transfer/store/pickers.js) answered as a test does: with a
#: folder of the origin-private file system, since headless Chromium refuses the pickers.
ANSWER_PICKERS = """async (folder) => {
  const { answerPickersWith } = await import("/js/transfer/store/pickers.js");
  const root = await navigator.storage.getDirectory();
  answerPickersWith(await root.getDirectoryHandle(folder, { create: true }));
}"""
PICKED = "bench-picked"

#: A file the page put in the picked folder, handed over as its person would take it
#: from there: a link to the file on disk. False when the folder holds no such file (the
#: page kept it elsewhere, and offers it with a Save link).
LINK_PICKED = """async ([folder, name, id]) => {
  if (!navigator.storage.getDirectory) return false;
  let file;
  try {
    const picked = await (await navigator.storage.getDirectory()).getDirectoryHandle(folder);
    file = await (await picked.getFileHandle(name)).getFile();
  } catch (error) {
    if (error.name === "NotFoundError") return false;
    throw error;
  }
  const link = Object.assign(document.createElement("a"), { id, href: URL.createObjectURL(file), download: name });
  link.textContent = "bench";
  document.body.append(link);
  return true;
}"""


async def save_and_hash(page: Any, name: str) -> tuple[str, str | None]:
    """Save the received file as its person would (from the picked folder when the page
    wrote it there, else its Save link) and hash the download; returns the digest (empty
    when there was nothing to hash) and what failed, if anything."""
    if await page.evaluate(LINK_PICKED, [PICKED, name, "bench-picked-file"]):
        save = page.locator("#bench-picked-file")
    else:
        save = page.locator("#receive-files a.save")
        # The page adds the link at its next paint after saying the file is verified.
        await expect(save).to_have_count(1, timeout=UI_TIMEOUT)
    async with page.expect_download(timeout=TRANSFER_TIMEOUT * 1000) as info:
        await save.click()
    download = await info.value
    try:
        failure = await download.failure()
        if failure is not None:
            return "", f"the download failed: {failure}"
        return await asyncio.to_thread(sha256_of, Path(await download.path())), None
    finally:
        await download.delete()


async def receive(playwright: Any, sender: Any, server: str, source: Path, digest: str, way: Way) -> Received:
    """One transfer of ``source`` into a fresh receiving browser run ``way``, saved and checked."""
    size = source.stat().st_size
    sending = await new_context(sender)
    try:
        _page, code = await start_sending(sending, server, [source])
        async with receiving(playwright, way, source.parent) as (context, root):
            page = await open_offer(context, server, code)
            await page.evaluate(MARK_ENDS)
            if not way.blob_only:
                await page.evaluate(ANSWER_PICKERS, PICKED)
            async with sampled(root) as samples:
                await page.click("#accept")
                await page.wait_for_function(
                    "() => window.benchMarks.ended !== undefined", timeout=TRANSFER_TIMEOUT * 1000
                )
                marks = await page.evaluate("window.benchMarks")
                if marks["kind"] == "ok":
                    saved, failure = await save_and_hash(page, source.name)
                else:
                    saved, failure = "", f"the receive ended in {marks['kind']}"
    finally:
        await sending.close()
    return Received(
        size=size,
        seconds=(marks["ended"] - marks["accepted"]) / 1000,
        before=samples.before,
        peak=samples.peak,
        exact=saved == digest,
        kind=marks["kind"],
        status=marks["status"],
        failure=failure or (None if saved == digest else "the saved bytes differ from the source"),
    )


def _size_name(size: int) -> str:
    return f"{size / (1 << 30):g} GiB" if size >= 1 << 30 else f"{size / MIB:g} MiB"


PRIVATE, PROFILE, BLOB = Way(), Way(profile=True), Way(blob_only=True)


def growth_results(received: dict[tuple[int, Way], Received], sizes: tuple[int, ...], way: Way) -> list[Result]:
    """The receiving browser's growth run ``way`` at each size: beside the Blob path at the
    first size, and beside its own growth at the first size at the others (the ratio shows
    whether the growth follows the size)."""
    first = received[sizes[0], way]
    results = []
    for size in sizes:
        got = received[size, way]
        baseline, against = (received[sizes[0], BLOB], BLOB.name) if size == sizes[0] else (first, way.name)
        results.append(
            Result(
                section="browser-disk",
                name=f"receiving browser RSS growth, {_size_name(size)}, {way.name} "
                f"(baseline: {against}" + (")" if size == sizes[0] else f", {_size_name(sizes[0])})"),
                unit="MB",
                ours=round(got.growth / MB, 1),
                baseline=round(baseline.growth / MB, 1),
                target=f"< {GROWTH_LIMIT / MB:.0f} MB, Save exact",
                met=got.growth < GROWTH_LIMIT and got.exact,
                detail=got.as_detail(),
            )
        )
    return results


async def run(config: BenchConfig) -> list[Result]:
    sizes = config.disk_sizes
    received: dict[tuple[int, Way], Received] = {}
    plan = [(sizes[0], BLOB), *((size, way) for way in (PRIVATE, PROFILE) for size in sizes)]
    async with server_process() as server, async_playwright() as playwright:
        async with chromium(playwright, "sender") as (sender, _root):
            for size, way in plan:
                source = random_file(config.scratch / f"big-{size}.bin", size)
                digest = await asyncio.to_thread(sha256_of, source)
                got = received[size, way] = await receive(playwright, sender, server.url, source, digest, way)
                source.unlink()
                config.say(
                    f"browser → browser {_size_name(size)}, {way.name}: {got.rate:.1f} MB/s, receiving browser RSS "
                    f"{got.before / MB:.0f} → {got.peak / MB:.0f} MB (+{got.growth / MB:.0f} MB), "
                    f"saved {'exact' if got.exact else 'NOT exact'}" + (f" ({got.failure})" if got.failure else "")
                )
    ours, blob = received[sizes[0], PRIVATE], received[sizes[0], BLOB]
    return [
        Result(
            section="browser-disk",
            name=f"Chromium → Chromium {_size_name(sizes[0])}, private context (baseline: {BLOB.name})",
            unit="MB/s",
            ours=round(ours.rate, 2),
            baseline=round(blob.rate, 2),
            target="completes, Save exact",
            met=ours.exact,
            detail={"ours": ours.as_detail(), "baseline": blob.as_detail()},
        ),
        *growth_results(received, sizes, PRIVATE),
        *growth_results(received, sizes, PROFILE),
    ]
