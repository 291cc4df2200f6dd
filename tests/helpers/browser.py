"""Driving the web UI in Chromium as a person would: pick or drop files, type codes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import expect

# The real binary: /usr/bin/chromium is a wrapper script that adds Debian's flags.
CHROMIUM = Path(os.environ.get("SENDIT_CHROMIUM", "/usr/lib/chromium/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    # Names resolve to nothing, so Chromium reaches no host of its own accord; addresses
    # of loopback and of the documentation ranges (which tests may add to their
    # namespace) are opened as they are.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE 192.0.2.*, EXCLUDE 198.51.100.*, "
    "EXCLUDE 203.0.113.*",
]

#: The JavaScript tests' own modules, served to every test page at HARNESS_PATH; they
#: import the real modules from /js/, so they test exactly what the server serves.
HARNESS = Path(__file__).resolve().parents[1] / "web" / "harness"
HARNESS_PATH = "/test-harness/"

UI_TIMEOUT = 30_000  # ms; a 20 MB transfer plus connection set-up fits with room to spare

DROP = """
async (ids) => {
  const source = document.getElementById(ids.source);
  const transfer = new DataTransfer();
  for (const file of source.files) transfer.items.add(file);
  const target = document.getElementById(ids.target);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }
  source.remove();
}
"""


def make_files(directory: Path, sizes: dict[str, int]) -> list[Path]:
    """Files of random bytes (``size`` bytes each), written to ``directory``."""
    paths = []
    for name, size in sizes.items():
        path = directory / name
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


async def launch_chromium(playwright: Any) -> Any:
    """Headless Chromium kept off the network, with loopback WebRTC allowed."""
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


async def new_context(browser: Any) -> Any:
    """A browser context: one person, with downloads on and what loopback WebRTC needs."""
    context = await browser.new_context(accept_downloads=True)
    # Chromium offers loopback ICE candidates only to pages allowed a microphone.
    await context.grant_permissions(["microphone"])
    return context


async def serve_harness(context: Any) -> None:
    """Answer HARNESS_PATH requests of every page in ``context`` from HARNESS. The page's
    own origin serves them, so its Content-Security-Policy admits them as it would ours."""

    async def fulfil(route: Any) -> None:
        name = urlsplit(route.request.url).path.removeprefix(HARNESS_PATH)
        path = HARNESS / name
        if "/" in name or not path.is_file():
            await route.fulfill(status=404, body=f"no harness module {name!r}")
        else:
            await route.fulfill(path=path, content_type="text/javascript")

    await context.route(f"**{HARNESS_PATH}*", fulfil)


async def run_harness(page: Any, module: str, function: str, args: Any = None) -> Any:
    """Call ``function(args)`` of the harness module ``module`` in ``page``; its result,
    as plain data."""
    return await page.evaluate(
        "async ([url, name, args]) => (await import(url))[name](args)", [HARNESS_PATH + module, function, args]
    )


#: A socket.io event (or one asking for an answer) as Engine.IO frames it: ``42[...]``, ``42<id>[...]``.
EVENT_FRAME = re.compile(r"42\d*(\[.*\])", re.DOTALL)


def sent_events(page: Any) -> list[tuple[str, Any]]:
    """What ``page`` tells the server over socket.io from now on, as (event, payload);
    the list grows as it goes."""
    sent: list[tuple[str, Any]] = []

    def record(frame: str | bytes) -> None:
        found = EVENT_FRAME.fullmatch(frame) if isinstance(frame, str) else None
        if found:
            event, *payload = json.loads(found.group(1))
            sent.append((event, payload[0] if payload else None))

    page.on("websocket", lambda socket: socket.on("framesent", record))
    return sent


#: A slow disk for the pages of a context: bytes of a picked or dropped file from
#: ``at`` on are read only once the test calls ``release_reads``, so a sending page
#: stops mid-transfer for as long as the test needs, without sleeps.
GATED_READS = """at => {
  let release;
  const released = new Promise((resolve) => (release = resolve));
  window.__releaseReads = release;
  const slice = Blob.prototype.slice;
  Blob.prototype.slice = function (start = 0, end, type) {
    const part = slice.call(this, start, end, type);
    if (!(this instanceof File) || start < at) return part;
    return { size: part.size, arrayBuffer: () => released.then(() => part.arrayBuffer()) };
  };
}"""


async def gate_reads(context: Any, at: int) -> None:
    """The pages ``context`` opens from now on read files past byte ``at`` only once released."""
    await context.add_init_script(f"({GATED_READS})({at})")


async def release_reads(page: Any) -> None:
    await page.evaluate("() => window.__releaseReads()")


#: Counts, in ``window.__fileBytes``, the bytes of every binary message the page's data
#: channels receive: what crossed the wire of the files, whatever the page shows.
COUNT_FILE_BYTES = """
window.__fileBytes = 0;
const Native = window.RTCPeerConnection;
window.RTCPeerConnection = class extends Native {
  constructor(...args) {
    super(...args);
    this.addEventListener("datachannel", ({ channel }) =>
      channel.addEventListener("message", ({ data }) => {
        if (typeof data !== "string") window.__fileBytes += data.byteLength ?? data.size;
      }),
    );
  }
};
"""


async def open_app(context: Any, url: str) -> Any:
    page = await context.new_page()
    await page.goto(url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page


async def pick_files(page: Any, paths: list[Path]) -> None:
    await page.set_input_files("#file-input", [str(p) for p in paths])


async def drop_files(page: Any, paths: list[Path], target: str = "drop-zone") -> None:
    """A real drop event carrying real File objects (Playwright's own drop is too slow)."""
    await page.evaluate("""() => {
      const input = document.createElement('input');
      input.type = 'file'; input.multiple = true; input.id = 'test-drop-source'; input.hidden = true;
      document.body.append(input);
    }""")
    await page.set_input_files("#test-drop-source", [str(p) for p in paths])
    await page.evaluate(DROP, {"source": "test-drop-source", "target": target})


#: A code as the send page shows it: its canonical form.
CODE = re.compile(r"^[1-9][0-9]{0,3}(-[a-z]+){3}$")


async def shown_code(page: Any) -> str:
    code = page.locator("#code")
    await expect(code).to_have_text(CODE, timeout=UI_TIMEOUT)
    return await code.text_content()


async def enter_code(page: Any, text: str) -> None:
    await page.click("#tab-receive")
    await page.fill("#code-input", text)
    await page.press("#code-input", "Enter")


async def save_all(page: Any, directory: Path, count: int) -> dict[str, bytes]:
    """Click every Save link; returns {suggested filename: bytes}."""
    links = page.locator("#receive-files a.save")
    await expect(links).to_have_count(count, timeout=UI_TIMEOUT)
    saved = {}
    for i in range(count):
        async with page.expect_download() as info:
            await links.nth(i).click()
        download = await info.value
        target = directory / download.suggested_filename
        await download.save_as(target)
        saved[download.suggested_filename] = target.read_bytes()
    return saved


#: What both pages show beside the progress of a connection over loopback.
SAME_NETWORK = "Connected: direct (same network)"


async def start_sending(context: Any, url: str, paths: list[Path]) -> tuple[Any, str]:
    """A sender's page with ``paths`` picked; returns it and the code it shows."""
    sender = await open_app(context, url)
    await pick_files(sender, paths)
    return sender, await shown_code(sender)


async def open_link(context: Any, url: str, code: str) -> Any:
    """A receiver's page opened from the share link: ready to receive, and nothing more
    until its person clicks."""
    receiver = await open_app(context, f"{url}/#{code}")
    await expect(receiver.locator("#receive-status")).to_have_text(
        f"Ready to receive with code {code}. Press Receive to connect."
    )
    return receiver


async def open_offer(context: Any, url: str, code: str) -> Any:
    """A receiver's page opened from the share link, its Receive clicked, showing the offer to accept."""
    receiver = await open_link(context, url, code)
    await receiver.click("#receive-button")
    await expect(receiver.locator("#accept")).to_be_visible(timeout=UI_TIMEOUT)
    return receiver
