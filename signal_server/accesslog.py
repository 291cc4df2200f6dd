"""The server's access log without download tokens: whoever reads a log could spend one."""

from __future__ import annotations

import json
import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

REDACTED = "redacted"


def _quoted(text: str) -> str:
    """A client's header as it goes between the line's quotes: a quote or a control in
    it, escaped, cannot make the line say something else."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


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
            _quoted(request.headers.get("Referer", "-")),
            _quoted(request.headers.get("User-Agent", "-")),
        )

    @property
    def enabled(self) -> bool:
        # Spares aiohttp timing each request when nothing would be logged.
        return self.logger.isEnabledFor(logging.INFO)
