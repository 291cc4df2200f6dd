"""The bare aiortc pump: the baseline that the Python peer is measured against.

The pattern of aiortc's own file-transfer example, on plain asyncio: the sender reads
the file 16 KiB at a time and sends while the channel's buffer is at or under its
low threshold (0), topping up on ``bufferedamountlow``; an empty message ends the
file. The receiver writes what arrives to a file. No protocol, no hashing, no progress.

The two ends are separate processes, like two ``sendit`` peers, and exchange their
descriptions through the benchmark: one JSON line out on standard output, one in on
standard input. The receiver ends by printing ``{"bytes": N, "seconds": S}``, timed
from the moment ``--warmup`` bytes had arrived (a new connection runs at about half
speed for its first seconds).

    python -m bench.pump send FILE       # prints the offer, reads the answer
    python -m bench.pump receive FILE --warmup BYTES   # reads the offer, prints the answer
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import BinaryIO

from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription

from peer.signalling.localip import offering

READ_SIZE = 16_384
# aioice leaves loopback out unless told; the benchmark's namespace has nothing else.
LOCAL_IPS = ["127.0.0.1"]


async def read_description() -> RTCSessionDescription:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    description = json.loads(line)
    return RTCSessionDescription(sdp=description["sdp"], type=description["type"])


def write_json(value: dict) -> None:
    print(json.dumps(value), flush=True)


async def describe(pc: RTCPeerConnection, description: RTCSessionDescription) -> None:
    with offering(LOCAL_IPS):
        await pc.setLocalDescription(description)
    write_json({"type": pc.localDescription.type, "sdp": pc.localDescription.sdp})


async def send(pc: RTCPeerConnection, source: BinaryIO) -> None:
    done = asyncio.Event()
    channel = pc.createDataChannel("filexfer")
    finished = False

    async def send_data() -> None:
        nonlocal finished
        while channel.bufferedAmount <= channel.bufferedAmountLowThreshold and not finished:
            data = source.read(READ_SIZE)
            channel.send(data)
            if not data:
                finished = True

    channel.on("open", send_data)
    channel.on("bufferedamountlow", send_data)
    channel.on("message", lambda message: message == "done" and done.set())
    await describe(pc, await pc.createOffer())
    await pc.setRemoteDescription(await read_description())
    await done.wait()


async def receive(pc: RTCPeerConnection, target: BinaryIO, warmup: int) -> None:
    done = asyncio.Event()
    received = 0
    timed_from: tuple[float, int] | None = None

    @pc.on("datachannel")
    def on_channel(channel: RTCDataChannel) -> None:
        @channel.on("message")
        def on_message(message: bytes | str) -> None:
            nonlocal received, timed_from
            if message and isinstance(message, bytes):
                target.write(message)
                received += len(message)
                if timed_from is None and received >= warmup:
                    timed_from = (time.perf_counter(), received)
                return
            # The end: b"" from the aiortc sender, a text marker from a browser.
            assert timed_from is not None, "the file was shorter than the warm-up"
            start, at = timed_from
            write_json({"bytes": received - at, "seconds": time.perf_counter() - start})
            # The sender hangs up on "done"; closing here could lose it.
            channel.send("done")

        channel.on("close", done.set)

    await pc.setRemoteDescription(await read_description())
    await describe(pc, await pc.createAnswer())
    await done.wait()


async def main(args: argparse.Namespace) -> None:
    # An explicit empty list: with none, aiortc would ask a public STUN server.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        if args.role == "send":
            with open(args.file, "rb") as source:
                await send(pc, source)
        else:
            with open(args.file, "wb") as target:
                await receive(pc, target, args.warmup)
    finally:
        await pc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.pump", description="bare aiortc pump (the baseline)")
    parser.add_argument("role", choices=["send", "receive"])
    parser.add_argument("file")
    parser.add_argument("--warmup", type=int, default=0, help="bytes to let through before timing")
    asyncio.run(main(parser.parse_args()))
