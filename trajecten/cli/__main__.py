"""``python -m trajecten.cli``: the same command line as ``trajecten``, for where the script is not on the
PATH (``trajecten.beheer.cluster`` and the tests start it so with the interpreter they run in).
Everything is in ``trajecten/cli/__init__.py``."""

import sys

from trajecten.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
