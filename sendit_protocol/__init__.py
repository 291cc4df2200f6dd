"""SendIt's protocol (docs/PROTOCOL.md), shared by the server and the peer.

Dependency-light and free of I/O: the code format, the signal and message schemas and
their limits, the digest, the handshake and the error identifiers. The server imports
only what it checks (the slot, the signal envelope, the error ids); neither the server
nor the peer imports the other. Its twin in the browser is web/js/protocol/.
"""
