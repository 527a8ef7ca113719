"""``python -m poolstore``: the command line (see :mod:`poolstore.cli`)."""

from .cli import main

raise SystemExit(main())
