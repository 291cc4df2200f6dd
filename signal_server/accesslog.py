"""The server's access log without download tokens: whoever reads a log could spend one."""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

REDACTED = "redacted"


class AccessLogger(AbstractAccessLogger):
    """aiohttp's default line (Apache's combined format) with any ``token`` in the URL
    redacted, and without the time, which the log's own format gives."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        url = request.rel_url
        if "token" in url.query:
            url = url.update_query(token=REDACTED)
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d "%s" "%s"',
            request.remote or "-",
            request.method,
            url,
            *request.version,
            response.status,
            response.body_length,
            request.headers.get("Referer", "-"),
            request.headers.get("User-Agent", "-"),
        )

    @property
    def enabled(self) -> bool:
        # Spares aiohttp timing each request when nothing would be logged.
        return self.logger.isEnabledFor(logging.INFO)
