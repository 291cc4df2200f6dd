"""SendIt Python peer: the data-channel transfer protocol and, later, the `sendit` CLI."""
