"""The peer's side of signalling: the socket.io client, and the WebRTC link it sets up."""
