"""Signalling: the socket.io adapter of docs/PROTOCOL.md section 2 over plain objects
(code registry, join policy, rate limit) that know nothing of socket.io."""
