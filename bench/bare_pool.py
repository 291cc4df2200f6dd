"""A bare aiohttp file server: the baseline the pool's upload and download speed is held to.

``python -m bench.bare_pool --port N --dir DIR`` serves the same two routes as the pool,
with nothing but streaming: ``POST /api/upload`` writes the multipart field ``file`` to
``DIR/<id>`` and answers ``{"token": id}``; ``GET /api/download?token=<id>`` streams that
file back and deletes it; ``GET /api/pool/stats`` counts the files. No type check, no
quota, no fsync, no claim: whatever the pool costs beyond this is its own. It runs on
the same event loop as the real server (uvloop when installed).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from aiohttp import BodyPartReader, web

from signal_server.__main__ import event_loop

#: The pool's own chunk size, so both servers move data in the same steps.
CHUNK_SIZE = 256 * 1024
DIRECTORY_KEY = web.AppKey("directory", Path)


async def upload(request: web.Request) -> web.Response:
    """Stream the field ``file`` to a new file; answer its id as the download token."""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            await part.release()
            continue
        file_id = uuid.uuid4().hex
        size = 0
        # Plain blocking writes on the loop: the simplest streaming handler, and on a
        # page cache the fastest one.
        with open(request.app[DIRECTORY_KEY] / file_id, "wb") as file:
            while chunk := await part.read_chunk(CHUNK_SIZE):
                file.write(chunk)
                size += len(chunk)
        return web.json_response({"token": file_id, "size": size}, status=201)
    return web.json_response({"error": 'no field "file"'}, status=400)


async def download(request: web.Request) -> web.StreamResponse:
    """Stream the file named by ``token`` back, then delete it (one download per file)."""
    file_id = request.query.get("token", "")
    # Ids are the hex this server made: anything else could name a path outside the directory.
    if len(file_id) != 32 or not all(c in "0123456789abcdef" for c in file_id):
        return web.json_response({"error": "bad token"}, status=400)
    path = request.app[DIRECTORY_KEY] / file_id
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        return web.json_response({"error": "no such file"}, status=404)
    with file:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = path.stat().st_size
        await response.prepare(request)
        while chunk := file.read(CHUNK_SIZE):
            await response.write(chunk)
        await response.write_eof()
    path.unlink()
    return response


async def stats(request: web.Request) -> web.Response:
    """How many files wait; the client asks after a download, when the handler is done."""
    return web.json_response({"count": sum(1 for _ in request.app[DIRECTORY_KEY].iterdir())})


def make_app(directory: Path) -> web.Application:
    """The two routes over ``directory``."""
    app = web.Application()
    app[DIRECTORY_KEY] = directory
    app.router.add_post("/api/upload", upload)
    app.router.add_get("/api/download", download, allow_head=False)
    app.router.add_get("/api/pool/stats", stats)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_pool", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="where uploads are written")
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)

    def announce(_message: str) -> None:
        # The same ready line as the real server's, once the socket listens.
        print(f"bare pool on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)

    web.run_app(make_app(args.dir), host=args.host, port=args.port, print=announce, access_log=None, loop=event_loop())


if __name__ == "__main__":
    main()
