"""peer/transfer/source.py: what ``sendit send`` turns its arguments into."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from peer.errors import UsageError
from peer.transfer.source import collect, spool_stdin


def test_a_directory_is_sent_as_its_files_under_its_own_name(tmp_path: Path) -> None:
    (tmp_path / "photos" / "2024").mkdir(parents=True)
    (tmp_path / "photos" / "b.jpg").write_bytes(b"bb")
    (tmp_path / "photos" / "2024" / "a.png").write_bytes(b"a")
    (tmp_path / "photos" / "empty-folder").mkdir()
    (tmp_path / "photos" / "dangling").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "photos" / "fifo")
    sources = collect([str(tmp_path / "photos")])
    assert [(s.name, s.size, s.type) for s in sources] == [
        ("photos/b.jpg", 2, "image/jpeg"),
        ("photos/2024/a.png", 1, "image/png"),
    ]


def test_the_current_directory_is_named_after_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert [s.name for s in collect(["."])] == [f"{tmp_path.name}/x"]


def test_two_files_with_one_name_are_refused(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x").write_text(folder)
    with pytest.raises(UsageError, match="cannot send these together: the offer names x twice; send them separately"):
        collect([str(tmp_path / "a" / "x"), str(tmp_path / "b" / "x")])


def test_a_file_where_another_needs_a_folder_is_refused(tmp_path: Path) -> None:
    """``x`` and the folder ``x`` holding ``y``: no receiver could save both."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("file")
    (tmp_path / "b" / "x").mkdir(parents=True)
    (tmp_path / "b" / "x" / "y").write_text("in a folder")
    with pytest.raises(UsageError, match="the offer has both x and x/y"):
        collect([str(tmp_path / "a" / "x"), str(tmp_path / "b" / "x")])


def test_an_empty_directory_is_nothing_to_send(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nothing to send"):
        collect([str(tmp_path)])


def test_a_name_the_protocol_cannot_carry_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad\\name").write_text("1")
    with pytest.raises(UsageError, match="backslash or control character"):
        collect([str(tmp_path)])


def test_a_pipe_is_spooled_so_its_size_is_known(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    data = os.urandom(200_000)
    with os.fdopen(write_end, "wb") as writer, os.fdopen(read_end, "rb") as reader:
        # Bigger than a pipe's buffer: the writer needs a thread of its own.
        thread = threading.Thread(target=lambda: (writer.write(data), writer.close()))
        thread.start()
        source = spool_stdin(reader, "piped.bin")
        thread.join()
    assert (source.name, source.size) == ("piped.bin", len(data))
    with source.open() as stream:
        assert stream.read() == data
    with source.open() as stream:
        assert stream.read() == data


def test_a_redirected_file_is_read_in_place(tmp_path: Path) -> None:
    (tmp_path / "in").write_bytes(b"redirected")
    with (tmp_path / "in").open("rb") as stream:
        source = spool_stdin(stream, "r.txt")
        assert (source.size, source.type, source.spool) == (10, "text/plain", None)
        with source.open() as again:
            assert again.read() == b"redirected"
