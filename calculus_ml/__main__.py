"""``python -m calculus_ml``: the command-line interface."""

from .cli import main

raise SystemExit(main())
