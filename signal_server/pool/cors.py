"""Cross-origin access to the pool's API, for the origins the operator names."""

from __future__ import annotations

from dataclasses import dataclass

from .refusal import Refusal

ALLOWED_METHODS = ("GET", "POST")
# Multipart uploads need no preflight; Content-Type is the one header a caller may add.
ALLOWED_HEADERS = ("content-type",)
# A cross-origin page may read these, so it learns the downloaded file's name.
EXPOSED_HEADERS = ("Content-Disposition", "Content-Length")
PREFLIGHT_MAX_AGE = 600


class CorsRefused(Refusal):
    """A preflight the policy does not allow; ``str(error)`` says why."""

    error_id = "cors-refused"


@dataclass(frozen=True)
class CorsPolicy:
    """Which origins may call the API; ``*`` stands for any. Empty: same origin only."""

    origins: frozenset[str] = frozenset()

    def allows(self, origin: str | None) -> bool:
        return origin is not None and ("*" in self.origins or origin.lower() in self.origins)

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """Headers for any API response to a request from ``origin``."""
        if origin is None or not self.allows(origin):
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
            "Vary": "Origin",
        }

    def preflight_headers(self, origin: str | None, method: str | None, headers: str | None) -> dict[str, str]:
        """What a preflight's answer adds to :meth:`response_headers`, or :class:`CorsRefused`."""
        if not self.allows(origin):
            raise CorsRefused(f"origin {origin!r} may not use this API")
        if method not in ALLOWED_METHODS:
            raise CorsRefused(f"method {method!r} is not allowed: use GET or POST")
        asked = {name.strip().lower() for name in (headers or "").split(",") if name.strip()}
        if not asked <= set(ALLOWED_HEADERS):
            raise CorsRefused(f"headers not allowed: {', '.join(sorted(asked - set(ALLOWED_HEADERS)))}")
        return {
            "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        }
