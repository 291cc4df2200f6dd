"""peer/progress.py: what a run shows, and that a peer's text cannot drive the terminal."""

from __future__ import annotations

import io
import json

from peer.errors import Cancelled, ConnectionFailed
from peer.progress import HumanReporter, JsonReporter
from sendit_protocol.errors import ErrorId
from sendit_protocol.ice import FAILURE_WORDS, Route
from sendit_protocol.messages import FileEntry


def test_text_from_the_peer_cannot_drive_the_terminal() -> None:
    out = io.StringIO()
    report = HumanReporter(out)
    report.offered([FileEntry(name="a\x9b31mred[bold]", size=3, type="")])
    report.error(Cancelled("bye\x1b]0;new title\x07"))
    shown = out.getvalue()
    assert not any(char in shown for char in "\x1b\x07\x9b")
    assert "a\ufffd31mred[bold]" in shown and "bye\ufffd]0;new title\ufffd" in shown


def test_text_from_the_peer_cannot_reorder_the_line() -> None:
    """A name is refused such characters on arrival; a reason or error message is only shown, neutralised."""
    out = io.StringIO()
    report = HumanReporter(out)
    report.error(Cancelled("see report\u202egpj.exe \u2066x\u2069 \u200f\u061c"))
    shown = out.getvalue()
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 or c in "\u200e\u200f\u061c" for c in shown)
    assert "see report\ufffdgpj.exe \ufffdx\ufffd \ufffd\ufffd" in shown


def test_json_events_are_one_object_a_line() -> None:
    out = io.StringIO()
    report = JsonReporter(out)
    files = [FileEntry(name="a", size=10, type="text/plain")]
    report.started(files)
    report.advanced(0, 10, 10)
    report.file_done(0, files[0])
    report.done()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["progress", "file-done", "done"]
    assert events[0] | {"rate": 0} == {
        "event": "progress",
        "index": 0,
        "name": "a",
        "file_bytes": 10,
        "bytes": 10,
        "total_bytes": 10,
        "rate": 0,
    }
    assert events[2]["files"] == 1 and events[2]["bytes"] == 10


def test_json_tells_the_route_and_an_errors_id_when_it_has_one() -> None:
    out = io.StringIO()
    report = JsonReporter(out)
    report.connected(Route.RELAY)
    report.error(ConnectionFailed(FAILURE_WORDS[ErrorId.TURN_REFUSED], error_id=ErrorId.TURN_REFUSED))
    report.error(Cancelled("cancelled"))
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"event": "connected", "route": "relay", "shown": "relayed via TURN"},
        {"event": "error", "message": FAILURE_WORDS[ErrorId.TURN_REFUSED], "exit_code": 4, "error_id": "turn-refused"},
        {"event": "error", "message": "cancelled", "exit_code": 6},
    ]


def test_the_route_is_one_line_for_a_person() -> None:
    out = io.StringIO()
    HumanReporter(out).connected(Route.NAT)
    assert out.getvalue() == "Connected: direct (through NAT)\n"
