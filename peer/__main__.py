"""``sendit`` / ``python -m peer``: send and receive files from a terminal or a script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
