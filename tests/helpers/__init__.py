"""What tests (and bench/) share: a real server, socket.io clients, pool requests,
`sendit` processes, Chromium, and the protocol vectors."""
