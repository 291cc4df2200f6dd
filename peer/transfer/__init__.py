"""The transfer of docs/PROTOCOL.md section 3: messages, the sender and receiver state
machines, files in and out, and one run of the command (the session)."""
