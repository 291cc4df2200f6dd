"""SendIt signalling server: introduces two peers that hold the same code."""
