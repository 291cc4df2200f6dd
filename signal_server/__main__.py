"""``sendit-server`` / ``python -m signal_server``: run the signalling server."""

from __future__ import annotations

import logging
import sys
from typing import Sequence

from aiohttp import web

from .app import create_app
from .config import load_config
from .accesslog import AccessLogger


def main(argv: Sequence[str] | None = None) -> None:
    config = load_config(argv)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = create_app(config)

    def announce(_message: str) -> None:
        # run_app calls this once the socket is listening, so the line means "ready".
        print(f"SendIt server on http://{config.host}:{config.port}/", file=sys.stderr, flush=True)

    web.run_app(app, host=config.host, port=config.port, print=announce, access_log_class=AccessLogger)


if __name__ == "__main__":
    main()
