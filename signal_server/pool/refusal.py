"""What every refusal of the pool is: its words for the person and the id a client
decides on, sent together as the JSON ``{"error": words, "error_id": id}`` (docs/POOL.md)."""

from __future__ import annotations


class Refusal(Exception):
    """A request the pool refuses. ``str(error)`` is its words; ``error_id`` (a class's
    own, or one given) names the refusal, in the syntax of sendit_protocol.errors.ERROR_ID."""

    error_id: str

    def __init__(self, message: str, error_id: str | None = None) -> None:
        super().__init__(message)
        if error_id is not None:
            self.error_id = error_id
