"""Browser to browser through the real UI: two Chromium contexts are two people."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from playwright.async_api import expect

from helpers.browser import (
    SAME_NETWORK,
    UI_TIMEOUT,
    drop_files,
    enter_code,
    make_files,
    open_app,
    open_link,
    open_offer,
    pick_files,
    save_all,
    sent_events,
    shown_code,
    start_sending,
)
from helpers.loopback import NO_UDP, address_on_lo, forward_to_loopback, nft_rules
from helpers.server import RunningServer, free_port, running_server, wait_until
from sendit_protocol.errors import ErrorId
from sendit_protocol.ice import FAILURE_WORDS
from signal_server.app import SIGNALLING_KEY

Person = Callable[[], Awaitable[Any]]
THREE_FILES = {"empty.bin": 0, "one.txt": 1, "random.bin": 20 * 1024 * 1024}


async def transfer_and_check(sender: Any, receiver: Any, paths: list[Path], out: Path) -> None:
    await expect(receiver.locator("#offer-summary")).to_contain_text(f"{len(paths)} files", timeout=UI_TIMEOUT)
    names = [await n.text_content() for n in await receiver.locator("#receive-files .file-name").all()]
    assert names == [p.name for p in paths]
    await receiver.click("#accept")
    saved = await save_all(receiver, out, len(paths))
    assert saved == {p.name: p.read_bytes() for p in paths}
    await expect(receiver.locator("#receive-status")).to_contain_text("received and verified")
    await expect(sender.locator("#send-status")).to_contain_text("Delivered", timeout=UI_TIMEOUT)
    await expect(sender.locator("#send-files .file-state")).to_have_text(["delivered ✓ verified"] * len(paths))
    for route in (sender.locator("#send-route"), receiver.locator("#receive-route")):
        await expect(route).to_have_text(SAME_NETWORK)
    # Both sides end on the average over the whole transfer, not a live figure.
    for rate in (sender.locator("#send-rate"), receiver.locator("#receive-rate")):
        await expect(rate).to_have_text(re.compile(r"^\S+ MB in \d+:\d\d · average \S+ [KM]?B/s$"))


async def test_picked_files_reach_receiver_who_types_the_code(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, THREE_FILES)
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_app(await new_person(), server.url)
    # People type codes loosely: capitals, spaces instead of dashes, words by their first four letters.
    slot, *words = code.split("-")
    await enter_code(receiver, f"{slot}  {' '.join(word[:4].upper() for word in words)}")
    out = tmp_path / "out"
    out.mkdir()
    await transfer_and_check(sender, receiver, paths, out)


async def test_dropped_files_reach_receiver_who_opens_the_link(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, THREE_FILES)
    sender = await open_app(await new_person(), server.url)
    await drop_files(sender, paths)
    code = await shown_code(sender)
    link = await sender.locator("#share-link").input_value()
    assert link == f"{server.url}/#{code}"
    assert await sender.locator("#qr svg").count() == 1
    await expect(sender.locator("#countdown")).to_contain_text(re.compile(r"expires in (9|10):\d\d"))
    receiver = await open_link(await new_person(), server.url, code)
    # The code is out of the address bar, and history, once the page has it.
    assert receiver.url == f"{server.url}/"
    await receiver.click("#receive-button")
    out = tmp_path / "out"
    out.mkdir()
    await transfer_and_check(sender, receiver, paths, out)


async def test_a_link_opened_but_never_clicked_leaves_the_code_usable(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    """A link previewer, or a chat app that runs the page, must not use up the one-shot code."""
    paths = make_files(tmp_path, {"a.txt": 5})
    sender, code = await start_sending(await new_person(), server.url, paths)
    previewer = await open_link(await new_person(), server.url, code)
    assert server.app[SIGNALLING_KEY].registry.lookup(int(code.split("-")[0])).used is False
    await previewer.close()
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.click("#accept")
    out = tmp_path / "out"
    out.mkdir()
    assert await save_all(receiver, out, 1) == {"a.txt": paths[0].read_bytes()}
    await expect(sender.locator("#send-status")).to_contain_text("Delivered", timeout=UI_TIMEOUT)


async def test_the_code_input_completes_words_and_names_one_it_does_not_know(
    server: RunningServer, new_person: Person
) -> None:
    receiver = await open_app(await new_person(), server.url)
    await receiver.click("#tab-receive")
    await receiver.fill("#code-input", "4821 river lu")
    options = receiver.locator("#code-words option")
    await expect(options).not_to_have_count(0)
    values = [await option.get_attribute("value") for option in await options.all()]
    assert "4821 river lunar" in values and all(v.startswith("4821 river lu") for v in values)
    await receiver.fill("#code-input", "4821-river-fpx-lunar")
    await receiver.press("#code-input", "Enter")
    await expect(receiver.locator("#receive-status")).to_have_text(
        'That is not a SendIt code: "fpx" is not one of the code words.'
    )
    # Refused before anything was sent: the form stays for the correction.
    await expect(receiver.locator("#receive-form")).to_be_visible()


async def test_expired_code(new_person: Person, tmp_path: Path) -> None:
    async with running_server(code_ttl=1.0) as server:
        sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 10}))
        await expect(sender.locator("#send-status")).to_contain_text("expired", timeout=UI_TIMEOUT)
        receiver = await open_app(await new_person(), server.url)
        await enter_code(receiver, code)
        await expect(receiver.locator("#receive-status")).to_contain_text("No transfer is waiting")
        # The same files can go again under a new code.
        await sender.click("#start-over")
        assert await shown_code(sender) != code


async def test_used_code_is_refused_to_a_second_receiver(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 10}))
    await open_offer(await new_person(), server.url, code)
    second = await open_app(await new_person(), server.url)
    await enter_code(second, code)
    await expect(second.locator("#receive-status")).to_contain_text("already been used")
    await expect(second.locator("#offer")).to_be_hidden()


async def test_mistyped_code_can_be_corrected(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    paths = make_files(tmp_path, {"a.txt": 5})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_app(await new_person(), server.url)
    await enter_code(receiver, "ABC")
    await expect(receiver.locator("#receive-status")).to_contain_text("not a SendIt code")
    slot, *words = code.split("-")
    await enter_code(receiver, "-".join([str(1 + int(slot) % 9999), *words]))
    await expect(receiver.locator("#receive-status")).to_contain_text("No transfer is waiting")
    # The form is back, so the same page can try the right code.
    await enter_code(receiver, code)
    await expect(receiver.locator("#accept")).to_be_visible(timeout=UI_TIMEOUT)
    await receiver.click("#accept")
    out = tmp_path / "out"
    out.mkdir()
    assert await save_all(receiver, out, 1) == {"a.txt": paths[0].read_bytes()}


async def test_too_many_wrong_codes_say_how_long_to_wait(new_person: Person) -> None:
    async with running_server(max_failed_joins=1, failed_join_backoff=45.0) as server:
        receiver = await open_app(await new_person(), server.url)
        await enter_code(receiver, "9999-river-fox-lunar")
        await expect(receiver.locator("#receive-status")).to_contain_text("No transfer is waiting")
        await enter_code(receiver, "9999-river-fox-lunar")
        await expect(receiver.locator("#receive-status")).to_have_text(
            "Too many wrong codes from your network. Wait 0:45, then try again."
        )


async def test_sender_cancels_before_accept(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 10}))
    receiver = await open_offer(await new_person(), server.url, code)
    await sender.click("#cancel-send")
    await expect(sender.locator("#send-status")).to_contain_text("Cancelled")
    await expect(receiver.locator("#receive-status")).to_have_text("The sender cancelled the transfer.")
    await expect(receiver.locator("#accept")).to_be_hidden()
    assert await receiver.locator("#receive-files a.save").count() == 0


async def test_receiver_declines(server: RunningServer, new_person: Person, tmp_path: Path) -> None:
    sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 10}))
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.click("#decline")
    await expect(receiver.locator("#receive-status")).to_contain_text("declined")
    await expect(sender.locator("#send-status")).to_contain_text("declined", timeout=UI_TIMEOUT)


async def test_receiver_closing_tab_mid_transfer_fails_the_sender(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"big.bin": 200 * 1024 * 1024})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_offer(await new_person(), server.url, code)
    downloads: list[Any] = []
    receiver.on("download", lambda download: downloads.append(download))
    await receiver.click("#accept")
    # Mid-transfer: some bytes have arrived, far from all of them.
    await receiver.wait_for_function("() => document.getElementById('receive-total').value > 0", timeout=UI_TIMEOUT)
    assert await receiver.locator("#receive-files a.save").count() == 0
    await receiver.close()
    await expect(sender.locator("#send-status")).to_contain_text("Failed: the receiver left", timeout=UI_TIMEOUT)
    assert downloads == []


async def test_sender_closing_tab_mid_transfer_fails_the_receiver(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"small.txt": 100, "big.bin": 200 * 1024 * 1024})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_offer(await new_person(), server.url, code)
    await receiver.click("#accept")
    await expect(receiver.locator("#receive-files a.save")).to_have_count(1, timeout=UI_TIMEOUT)
    await receiver.wait_for_function("() => document.getElementById('receive-total').value > 1e6", timeout=UI_TIMEOUT)
    await sender.close()
    await expect(receiver.locator("#receive-status")).to_contain_text("Failed: the sender left", timeout=UI_TIMEOUT)
    # The file that was verified stays; the cut one is never offered.
    await expect(receiver.locator("#receive-files a.save")).to_have_count(1)
    assert await receiver.locator("#receive-files a.save").get_attribute("download") == "small.txt"


CORRUPT_DIGESTS = """() => {
  // Simulates corruption between reading and sending: every digest this page makes is off.
  const digest = crypto.subtle.digest.bind(crypto.subtle);
  crypto.subtle.digest = async (algorithm, data) => {
    const bytes = new Uint8Array(await digest(algorithm, data));
    bytes[0] ^= 1;
    return bytes.buffer;
  };
}"""


async def test_hash_mismatch_is_reported_and_nothing_offered(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"data.bin": 3 * 1024 * 1024})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_offer(await new_person(), server.url, code)
    # Only now: the handshake hashes too, and would fail as a wrong code.
    await sender.evaluate(CORRUPT_DIGESTS)
    await receiver.click("#accept")
    await expect(receiver.locator("#receive-status")).to_contain_text(
        '"data.bin" arrived damaged (hash mismatch', timeout=UI_TIMEOUT
    )
    assert await receiver.locator("#receive-files a.save").count() == 0
    await expect(sender.locator("#send-status")).to_contain_text(
        '"data.bin" arrived damaged at the receiver', timeout=UI_TIMEOUT
    )


async def test_copy_button_puts_the_share_link_on_the_clipboard(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    context = await new_person()
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sender, code = await start_sending(context, server.url, make_files(tmp_path, {"a.txt": 1}))
    await sender.click("#copy-link")
    await expect(sender.locator("#copy-link")).to_have_text("Copied")
    assert await sender.evaluate("() => navigator.clipboard.readText()") == f"{server.url}/#{code}"


async def test_files_dropped_while_waiting_join_the_offer(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    first, second = make_files(tmp_path, {"first.txt": 3, "second.txt": 4})
    sender, code = await start_sending(await new_person(), server.url, [first])
    # Dropped anywhere on the page, not on the (now hidden) drop zone.
    await drop_files(sender, [second], target="send-share")
    await expect(sender.locator("#send-summary")).to_contain_text("2 files")
    assert await sender.locator("#code").text_content() == code
    receiver = await open_offer(await new_person(), server.url, code)
    names = [await n.text_content() for n in await receiver.locator("#receive-files .file-name").all()]
    assert names == ["first.txt", "second.txt"]


async def test_receiving_works_from_the_keyboard_alone(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"a.txt": 7})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_app(await new_person(), server.url)
    await receiver.focus("#tab-send")
    await receiver.keyboard.press("ArrowRight")
    await expect(receiver.locator("#tab-receive")).to_be_focused()
    await expect(receiver.locator("#receive-view")).to_be_visible()
    await receiver.keyboard.press("Tab")
    await expect(receiver.locator("#code-input")).to_be_focused()
    await receiver.keyboard.type(code)
    await receiver.keyboard.press("Enter")
    # The offer takes the focus to its Accept button, so Enter accepts.
    await expect(receiver.locator("#accept")).to_be_focused(timeout=UI_TIMEOUT)
    await receiver.keyboard.press("Enter")
    await expect(receiver.locator("#receive-files a.save")).to_be_focused(timeout=UI_TIMEOUT)
    async with receiver.expect_download() as info:
        await receiver.keyboard.press("Enter")
    saved = tmp_path / "saved"
    await (await info.value).save_as(saved)
    assert saved.read_bytes() == paths[0].read_bytes()


async def test_wrong_words_tell_both_and_the_sender_starts_over(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"a.bin": 2_000_000, "b.bin": 1_000_000})
    sender, code = await start_sending(await new_person(), server.url, paths)
    slot, first, second, last = code.split("-")
    wrong = await open_app(await new_person(), server.url)
    await enter_code(wrong, "-".join([slot, first, second, "zoo" if last != "zoo" else "abandon"]))
    await expect(wrong.locator("#receive-status")).to_have_text(
        "That code doesn't match. Check the words with the sender and ask for a new code.", timeout=UI_TIMEOUT
    )
    await expect(sender.locator("#send-status")).to_have_text(
        "Someone tried this code with the wrong words; it no longer works.", timeout=UI_TIMEOUT
    )
    # The slot went with the wrong words: the right ones find nothing now.
    late = await open_app(await new_person(), server.url)
    await enter_code(late, code)
    await expect(late.locator("#receive-status")).to_contain_text("No transfer is waiting")
    await sender.click("#start-over")
    fresh = await shown_code(sender)
    assert fresh != code
    await expect(sender.locator("#send-summary")).to_have_text("2 files, 3.0 MB")
    receiver = await open_offer(await new_person(), server.url, fresh)
    out = tmp_path / "out"
    out.mkdir()
    await transfer_and_check(sender, receiver, paths, out)


TAMPERED = (
    "The connection was tampered with on the way (a signal failed its seal check); "
    "the transfer was stopped and nothing was kept."
)


def flip_the_answer(role: str, signal: dict[str, Any]) -> dict[str, Any]:
    """A relay that changes one bit of the receiver's sealed answer (its DTLS fingerprint is in there)."""
    if signal["type"] != "answer":
        return signal
    data = bytearray(base64.b64decode(signal["data"]))
    data[20] ^= 1
    return {**signal, "data": base64.b64encode(bytes(data)).decode()}


async def test_a_relay_that_tampers_is_named_on_both_pages(new_person: Person, tmp_path: Path) -> None:
    async with running_server(relay_hook=flip_the_answer) as server:
        paths = make_files(tmp_path, {"a.txt": 5})
        sender, code = await start_sending(await new_person(), server.url, paths)
        receiver = await open_link(await new_person(), server.url, code)
        await receiver.click("#receive-button")
        await expect(sender.locator("#send-status")).to_have_text(TAMPERED, timeout=UI_TIMEOUT)
        await expect(receiver.locator("#receive-status")).to_have_text(TAMPERED, timeout=UI_TIMEOUT)
        assert await receiver.locator("#receive-files a.save").count() == 0
        # The code is spent; the same files can go under a new one.
        await sender.click("#start-over")
        assert await shown_code(sender) != code


SEND_BEFORE_ACCEPT = """() => {
  // A sender that breaks the rule: its first file's bytes go out with the manifest.
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    send.call(this, data);
    if (typeof data === "string" && data.startsWith('{"type":"manifest"')) send.call(this, new Uint8Array([1, 2, 3]));
  };
}"""


async def test_the_receiver_page_refuses_data_before_accept(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    sender = await open_app(await new_person(), server.url)
    await sender.evaluate(SEND_BEFORE_ACCEPT)
    await pick_files(sender, make_files(tmp_path, {"a.bin": 3}))
    code = await shown_code(sender)
    receiver = await open_link(await new_person(), server.url, code)
    await receiver.click("#receive-button")
    await expect(receiver.locator("#receive-status")).to_have_text(
        "Failed: protocol error: data before accept.", timeout=UI_TIMEOUT
    )
    await expect(receiver.locator("#accept")).to_be_hidden()
    assert await receiver.locator("#receive-files a.save").count() == 0
    await expect(sender.locator("#send-status")).to_contain_text("this side broke the protocol (data before accept)")


async def test_an_offer_too_long_for_one_message_goes_page_to_page(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    """4,000 ordinary names make a list of about 300 KB: more than one message holds."""
    count = 4000
    paths = make_files(tmp_path, {f"holiday-photo-2024-08-15-{i:04}.jpg": 1 + i % 7 for i in range(count)})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_offer(await new_person(), server.url, code)
    await expect(receiver.locator("#offer-summary")).to_contain_text(f"{count} files")
    await receiver.click("#accept")
    await expect(receiver.locator("#receive-status")).to_have_text(
        f"All {count} files received and verified. Save them below.", timeout=60_000
    )
    await expect(sender.locator("#send-status")).to_have_text(
        f"Delivered: {count} files received and verified.", timeout=UI_TIMEOUT
    )
    out = tmp_path / "out"
    out.mkdir()
    links = receiver.locator("#receive-files a.save")
    await expect(links).to_have_count(count)
    for index in (0, count - 1):
        async with receiver.expect_download() as info:
            await links.nth(index).click()
        download = await info.value
        assert (await download.path()).read_bytes() == paths[index].read_bytes()


# -- Real networks: the secure context, relay only, the route, why a link did not open ----

#: An address that is not loopback: Chromium counts 127.0.0.0/8 and localhost as secure.
PLAIN_ADDRESS = "192.0.2.200"
#: How long a failure known before any candidate may take to show: far below the 30 s
#: a connection is given to open.
AT_ONCE = 5_000


async def test_a_page_outside_a_secure_context_says_what_to_do_instead(
    server: RunningServer, new_person: Person
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with address_on_lo(PLAIN_ADDRESS), nft_rules(forward_to_loopback(PLAIN_ADDRESS, port)):
        context = await new_person()
        asked: list[str] = []
        context.on("request", lambda request: asked.append(request.url))
        page = await open_app(context, f"http://{PLAIN_ADDRESS}:{port}/")
        assert await page.evaluate("isSecureContext") is False
        await expect(page.locator("#insecure-title")).to_have_text("This page needs a secure connection")
        await expect(page.locator("#insecure-why")).to_contain_text(
            f"opened over plain HTTP (http://{PLAIN_ADDRESS}:{port})"
        )
        ways = page.locator("#insecure-ways li")
        await expect(ways.first).to_contain_text("Open it over HTTPS")
        await expect(ways.last).to_have_text(f"Or, on the computer that runs the server, open http://localhost:{port}/")
        for part in ("#send-view", "#receive-view", "#mode-tabs"):
            await expect(page.locator(part)).to_be_hidden()
        # Nothing that opens a socket or needs the cryptography was even loaded.
        paths = {urlsplit(url).path for url in asked}
        assert "/js/app.js" in paths and "/js/tabs.js" not in paths and "/words.json" not in paths, paths
        assert not any(path.startswith("/socket.io") for path in paths), paths
    # On loopback the same page is secure, and works as ever.
    page = await open_app(await new_person(), server.url)
    await expect(page.locator("#insecure-view")).to_be_hidden()
    await expect(page.locator("#drop-zone")).to_be_visible()


async def test_the_relay_only_setting_is_one_for_both_tabs_and_remembered(
    server: RunningServer, new_person: Person
) -> None:
    context = await new_person()
    page = await open_app(context, server.url)
    send, receive = page.locator("#send-relay-only"), page.locator("#receive-relay-only")
    await expect(send).not_to_be_checked()
    await send.check()
    await page.click("#tab-receive")
    await expect(receive).to_be_checked()
    other = await open_app(context, server.url)
    await expect(other.locator("#send-relay-only")).to_be_checked()
    # Unticked in one tab, it is off in the other one too.
    await receive.uncheck()
    await expect(other.locator("#send-relay-only")).not_to_be_checked()
    await page.reload()
    await expect(page.locator("#send-relay-only")).not_to_be_checked()


async def test_a_relay_only_sender_without_turn_fails_at_once_and_frees_its_code(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    sender = await open_app(await new_person(), server.url)
    told = sent_events(sender)
    await sender.check("#send-relay-only")
    await pick_files(sender, make_files(tmp_path, {"a.txt": 5}))
    await expect(sender.locator("#send-status")).to_have_text(FAILURE_WORDS[ErrorId.RELAY_UNAVAILABLE], timeout=AT_ONCE)
    await expect(sender.locator("#code")).to_have_text("")
    # The server is told why, and no code is left waiting there for a send that cannot connect.
    registry = server.app[SIGNALLING_KEY].registry
    await wait_until(lambda: registry.next_deadline() is None, "the slot to be given up")
    assert [payload["error_id"] for event, payload in told if event == "cancel"] == [ErrorId.RELAY_UNAVAILABLE]


async def test_a_relay_only_receiver_without_turn_fails_at_once_and_the_sender_can_start_over(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"a.bin": 2_000_000, "b.bin": 1_000_000})
    sender, code = await start_sending(await new_person(), server.url, paths)
    receiver = await open_link(await new_person(), server.url, code)
    await receiver.check("#receive-relay-only")
    await receiver.click("#receive-button")
    await expect(receiver.locator("#receive-status")).to_have_text(
        FAILURE_WORDS[ErrorId.RELAY_UNAVAILABLE], timeout=AT_ONCE
    )
    # The sender gives up too, with what it saw itself: its own addresses gathered, none
    # from the receiver (3.5's table); the receiver's words come beside, never in place.
    await expect(sender.locator("#send-status")).to_have_text(
        FAILURE_WORDS[ErrorId.NO_REMOTE_CANDIDATES], timeout=AT_ONCE
    )
    await expect(sender.locator("#send-peer-said")).to_have_text(
        'The receiver says: "relay only was asked for, but the server offers no TURN relay"'
    )
    await expect(receiver.locator("#receive-peer-said")).to_be_hidden()
    # The code is used up; the same files go under a new one to a receiver who connects directly.
    await sender.click("#start-over")
    receiver = await open_offer(await new_person(), server.url, await shown_code(sender))
    out = tmp_path / "out"
    out.mkdir()
    await transfer_and_check(sender, receiver, paths, out)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_a_relay_that_does_not_answer_is_named(new_person: Person, tmp_path: Path, transport: str) -> None:
    """Over TCP the relay's port refuses at once and gathering ends with nothing; over UDP
    nothing answers, and the connection's 30 s run out first."""
    nobody = {"urls": f"turn:127.0.0.1:{free_port()}?transport={transport}", "username": "u", "credential": "p"}
    async with running_server(ice_servers=[nobody]) as server:
        sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 5}))
        receiver = await open_link(await new_person(), server.url, code)
        await receiver.check("#receive-relay-only")
        await receiver.click("#receive-button")
        await expect(receiver.locator("#receive-status")).to_have_text(
            FAILURE_WORDS[ErrorId.TURN_UNREACHABLE], timeout=AT_ONCE if transport == "tcp" else OPEN_AND_MORE
        )
        await expect(receiver.locator("#offer")).to_be_hidden()
        if transport == "tcp":
            # The sender, still connecting, hears why and gives up with what it saw itself
            # (the same dead relay), the receiver's 3.5 words beside it.
            words = FAILURE_WORDS[ErrorId.TURN_UNREACHABLE]
            await expect(sender.locator("#send-status")).to_have_text(words, timeout=AT_ONCE)
            await expect(sender.locator("#send-peer-said")).to_have_text(f'The receiver says: "{words}"')


#: The 30 s a connection is given to open, and time for the page to say so.
OPEN_AND_MORE = 40_000


async def test_pages_that_cannot_reach_each_other_without_servers_say_so(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    assert server.config.ice_servers == []
    words = FAILURE_WORDS[ErrorId.NO_STUN]
    with nft_rules(NO_UDP):
        sender, code = await start_sending(await new_person(), server.url, make_files(tmp_path, {"a.txt": 5}))
        receiver = await open_link(await new_person(), server.url, code)
        await receiver.click("#receive-button")
        await expect(receiver.locator("#receive-status")).to_have_text("Connecting directly to the sender…")
        shown = {}
        for page, status in ((receiver, "#receive-status"), (sender, "#send-status")):
            await expect(page.locator(status)).to_have_attribute("data-kind", "error", timeout=OPEN_AND_MORE)
            shown[status] = await page.locator(status).text_content()
    # Each side saw the same, and says so in its own words, whether it gave up first or
    # on hearing that the other had.
    assert shown == {"#receive-status": words, "#send-status": words}, shown


async def test_both_pages_tell_the_server_their_route_when_done(
    server: RunningServer, new_person: Person, tmp_path: Path
) -> None:
    paths = make_files(tmp_path, {"a.bin": 1000})
    sender = await open_app(await new_person(), server.url)
    from_sender = sent_events(sender)
    await pick_files(sender, paths)
    receiver = await open_link(await new_person(), server.url, await shown_code(sender))
    from_receiver = sent_events(receiver)
    await receiver.click("#receive-button")
    await expect(receiver.locator("#receive-route")).to_have_text(SAME_NETWORK, timeout=UI_TIMEOUT)
    await receiver.click("#accept")
    out = tmp_path / "out"
    out.mkdir()
    assert await save_all(receiver, out, 1) == {"a.bin": paths[0].read_bytes()}
    await expect(sender.locator("#send-route")).to_have_text(SAME_NETWORK)

    def done(told: list[tuple[str, Any]]) -> list[Any]:
        return [payload for event, payload in told if event == "done"]

    await wait_until(lambda: done(from_sender) and done(from_receiver), "both pages' done")
    assert done(from_sender) == done(from_receiver) == [{"route": "lan"}]
