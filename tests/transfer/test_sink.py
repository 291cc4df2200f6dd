"""peer/transfer/sink.py: where received files go, and what is refused before anything is accepted."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from peer.errors import PeerError, UsageError
from peer.transfer.sink import DirectorySink, FileWriter, StreamSink
from sendit_protocol.digest import BLOCK_SIZE, BlockDigest
from sendit_protocol.messages import FileEntry

NAME_MAX = 255  # ext4 and tmpfs, where the tests run


def refusal(sink: DirectorySink, names: list[FileEntry]) -> PeerError:
    with pytest.raises(PeerError) as refused:
        sink.check(names)
    return refused.value


def entries(*names: str, size: int = 1) -> list[FileEntry]:
    return [FileEntry(name=name, size=size, type="") for name in names]


def test_a_file_is_written_as_part_and_renamed_once_committed(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path / "new" / "dir")
    files = entries("a/b/c.txt")
    sink.check(files)
    writer = sink.open(0, files[0])
    writer.write(b"abc")
    assert sorted(p.name for p in (tmp_path / "new" / "dir" / "a" / "b").iterdir()) == [
        "c.txt.part",
        "c.txt.part.sendit",
    ]
    writer.commit()
    assert (tmp_path / "new" / "dir" / "a" / "b" / "c.txt").read_bytes() == b"abc"
    assert [p.name for p in (tmp_path / "new" / "dir" / "a" / "b").iterdir()] == ["c.txt"]


def data(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def feed(writer: FileWriter, hashes: BlockDigest, chunk: bytes) -> None:
    """As the machine does: hash, then write."""
    hashes.update(chunk)
    writer.write(chunk)


def broken_off(root: Path, name: str, size: int, got: int) -> None:
    """A run that received ``got`` bytes of ``name`` and broke."""
    hashes = BlockDigest()
    writer = DirectorySink(root).open(0, FileEntry(name=name, size=size, type="x/y"), hashes)
    feed(writer, hashes, data(size)[:got])
    writer.discard(keep=True)


@pytest.mark.parametrize("damaged_too", [False, True])
def test_a_damaged_file_leaves_a_part_only_when_asked_and_never_for_resuming(tmp_path: Path, damaged_too: bool) -> None:
    hashes = BlockDigest()
    writer = DirectorySink(tmp_path, keep_damaged=damaged_too).open(0, entries("x", size=3 * BLOCK_SIZE)[0], hashes)
    feed(writer, hashes, data(BLOCK_SIZE + 5))
    writer.discard(keep=False)
    assert [p.name for p in tmp_path.iterdir()] == (["x.part"] if damaged_too else [])


def test_a_break_keeps_the_whole_blocks_and_the_same_offer_resumes_from_them(tmp_path: Path) -> None:
    size = 3 * BLOCK_SIZE + 10
    broken_off(tmp_path, "d/x", size, 2 * BLOCK_SIZE + 7)
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["x.part", "x.part.sendit"]
    files = [FileEntry(name="d/x", size=size, type="x/y")]
    sink = DirectorySink(tmp_path)
    sink.check(files, resume=True)
    held = sink.holdings(files)
    assert held == {0: [hashlib.sha256(data(size)[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE]).digest() for i in (0, 1)]}
    kept = BlockDigest(held[0])
    writer = sink.open(0, files[0], kept)
    feed(writer, kept, data(size)[2 * BLOCK_SIZE :])
    writer.commit()
    assert (tmp_path / "d" / "x").read_bytes() == data(size)
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["x"]


def test_a_sidecar_is_trusted_no_further_than_the_bytes_on_disk(tmp_path: Path) -> None:
    size = 4 * BLOCK_SIZE
    broken_off(tmp_path, "x", size, 3 * BLOCK_SIZE)
    with (tmp_path / "x.part").open("r+b") as part:
        part.truncate(BLOCK_SIZE + 1)  # as if the last writes never reached the disk
    files = entries("x", size=size)
    sink = DirectorySink(tmp_path)
    sink.check(files, resume=True)
    assert [len(blocks) for blocks in sink.holdings(files).values()] == [1]


@pytest.mark.parametrize("why", ["another size", "no resume"])
def test_a_partial_of_ours_that_is_not_resumed_is_started_over_not_refused(tmp_path: Path, why: str) -> None:
    broken_off(tmp_path, "x", 2 * BLOCK_SIZE, BLOCK_SIZE)
    files = entries("x", size=2 * BLOCK_SIZE + (why == "another size"))
    sink = DirectorySink(tmp_path)
    sink.check(files, resume=why != "no resume")
    assert sink.holdings(files) == {}
    hashes = BlockDigest()
    writer = sink.open(0, files[0], hashes)
    feed(writer, hashes, b"new")
    writer.commit()
    assert [p.name for p in tmp_path.iterdir()] == ["x"] and (tmp_path / "x").read_bytes() == b"new"


def test_a_part_file_without_our_sidecar_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "x.part").write_text("someone's")
    (tmp_path / "y.part").write_text("someone's")
    (tmp_path / "y.part.sendit").write_text("{not json")
    for name in ("x", "y"):
        with pytest.raises(PeerError, match=f"{name}.part already exists"):
            DirectorySink(tmp_path).check(entries(name), resume=True)


def test_a_file_already_complete_is_listed_whole_and_never_replaced_unasked(tmp_path: Path) -> None:
    size = BLOCK_SIZE + 3
    (tmp_path / "x").write_bytes(data(size))
    files = entries("x", size=size)
    with pytest.raises(PeerError, match="x already exists"):
        DirectorySink(tmp_path).check(files)  # without resume, as before
    sink = DirectorySink(tmp_path)
    sink.check(files, resume=True)
    held = sink.holdings(files)
    assert len(held[0]) == 2
    sink.open(0, files[0], BlockDigest(held[0])).commit()
    with pytest.raises(PeerError, match="differs from the offered file") as refused:
        sink.open(0, files[0], BlockDigest())
    assert refused.value.told == "the receiver cannot save these files: x exists there already, with other contents"
    assert (tmp_path / "x").read_bytes() == data(size)
    assert [p.name for p in tmp_path.iterdir()] == ["x"]


def test_standard_output_writes_whole_blocks_so_a_reconnection_can_drop_the_rest() -> None:
    out = io.BytesIO()
    sink = StreamSink(out)
    writer = sink.open(0, entries("a", size=3 * BLOCK_SIZE)[0])
    writer.write(data(BLOCK_SIZE + 5))
    assert out.getvalue() == data(BLOCK_SIZE)
    kept = BlockDigest()
    kept.update(data(BLOCK_SIZE))
    writer.truncate(kept)
    writer.write(data(2 * BLOCK_SIZE)[BLOCK_SIZE:])
    writer.commit()
    assert out.getvalue() == data(2 * BLOCK_SIZE)


@pytest.mark.parametrize("existing", ["x", "x.part"])
def test_existing_files_are_refused_unless_overwriting(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("mine")
    with pytest.raises(PeerError, match=f"{existing} already exists \\(use --overwrite to replace it\\)"):
        DirectorySink(tmp_path).check(entries("x"))
    DirectorySink(tmp_path, overwrite=True).check(entries("x"))
    assert (tmp_path / existing).read_text() == "mine"


def test_a_folder_in_the_way_is_refused_even_when_overwriting(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(PeerError, match="is a folder"):
        DirectorySink(tmp_path, overwrite=True).check(entries("x"))


def test_an_offer_of_a_name_and_its_part_file_is_refused(tmp_path: Path) -> None:
    """Names twice and a file beside its folder are the protocol's (tests/transfer/test_vectors.py);
    NAME.part is this side's own."""
    error = refusal(DirectorySink(tmp_path), entries("x.part", "x"))
    assert "both x and x.part" in str(error)
    assert error.told == "the receiver cannot save these files: it writes x.part while receiving x"


def test_a_link_left_at_the_part_name_is_not_followed(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    out.mkdir()
    outside.write_text("mine")
    (out / "x.part").symlink_to(outside)
    sink = DirectorySink(out, overwrite=True)
    files = entries("x")
    sink.check(files)
    writer = sink.open(0, files[0])
    writer.write(b"new")
    writer.commit()
    assert outside.read_text() == "mine"
    assert (out / "x").read_bytes() == b"new" and not (out / "x").is_symlink()


def test_an_offer_larger_than_the_free_space_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PeerError, match="not enough space"):
        DirectorySink(tmp_path).check(entries("huge", size=2**53 - 1))


def test_a_file_that_appears_while_receiving_is_not_replaced(tmp_path: Path) -> None:
    files = entries("x")
    sink = DirectorySink(tmp_path)
    sink.check(files)
    writer = sink.open(0, files[0])
    writer.write(b"new")
    (tmp_path / "x").write_text("theirs")
    with pytest.raises(PeerError, match="appeared while receiving"):
        writer.commit()
    assert (tmp_path / "x").read_text() == "theirs"
    assert (tmp_path / "x.part").read_bytes() == b"new"


def test_standard_output_takes_exactly_one_file() -> None:
    out = io.BytesIO()
    sink = StreamSink(out)
    with pytest.raises(UsageError, match="exactly one file; the sender offers 2"):
        sink.check(entries("a", "b"))
    sink.check(entries("a"))
    writer = sink.open(0, entries("a")[0])
    writer.write(b"streamed")
    writer.commit()
    assert out.getvalue() == b"streamed"


@pytest.mark.parametrize(
    "name",
    ["x" * 251, "é" * 126, "d" * 256 + "/x", "ok/" + "é" * 128 + "/x"],
    ids=[
        "251 bytes + .part",
        "252 bytes of é + .part",
        "a folder part of 256 bytes",
        "a folder part of 256 bytes of é",
    ],
)
def test_a_name_part_too_long_for_the_file_system_is_refused_before_anything_is_written(
    tmp_path: Path, name: str
) -> None:
    error = refusal(DirectorySink(tmp_path / "out"), entries(name))
    assert "longer than the 255 the file system of" in str(error) and str(tmp_path) in str(error)
    # The sender hears which name and why, never where this side would have put it.
    assert error.told.startswith("the receiver cannot save these files: a name part of ")
    assert "longer than its file system allows (255, .part included)" in error.told
    assert str(tmp_path) not in error.told
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["x" * 250, "é" * 125, "d" * 255 + "/x", "ok/" + "é" * 127 + "/x"])
def test_a_name_part_that_fits_with_its_part_suffix_is_taken(tmp_path: Path, name: str) -> None:
    sink = DirectorySink(tmp_path)
    files = entries(name)
    sink.check(files)
    writer = sink.open(0, files[0])
    writer.write(b"x")
    writer.commit()
    assert (tmp_path / name).read_bytes() == b"x"


def test_a_path_too_long_for_the_file_system_is_refused(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d" * 200] * 19)  # not created: the check needs no folder
    error = refusal(DirectorySink(deep), entries("e" * 200 + "/" + "f" * 200 + "/x"))
    assert "would be" in str(error) and "longer than the file system allows (4095)" in str(error)
    assert error.told == "the receiver cannot save these files: a path is longer than its file system allows: " + (
        "e" * 200 + "/" + "f" * 200 + "/x"
    )
    assert list(tmp_path.iterdir()) == []


def test_refusals_about_this_disk_tell_the_sender_nothing_of_it(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("mine")
    assert refusal(DirectorySink(tmp_path), entries("x")).told == "the receiver cannot save these files"
    error = refusal(DirectorySink(tmp_path), entries("huge", size=2**53 - 1))
    assert error.told == "the receiver cannot save these files: not enough free space"


def test_a_write_the_file_system_refuses_is_a_clean_error_and_leaves_nothing(
    tmp_path: Path, file_size_limit: int
) -> None:
    files = entries("big.bin", size=4 * file_size_limit)
    sink = DirectorySink(tmp_path)
    sink.check(files)
    hashes = BlockDigest()
    writer = sink.open(0, files[0], hashes)
    with pytest.raises(PeerError) as failed:
        for _ in range(4):
            feed(writer, hashes, b"x" * file_size_limit)
    assert str(failed.value) == f"cannot write {tmp_path / 'big.bin.part'}: File too large"
    assert failed.value.told == "cannot write big.bin: File too large"
    writer.discard(keep=True)
    assert list(tmp_path.iterdir()) == []  # not a whole block: nothing worth resuming
