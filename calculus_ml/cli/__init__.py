"""Command-line front end: ``calculus-ml`` (or ``python -m calculus_ml``).

Thin by design: :mod:`.parser` parses the arguments, :mod:`.commands` calls the public API, and
:func:`main` prints. Mistakes a user can make end with one line on stderr (of at most
:data:`~calculus_ml.errors.MESSAGE_LIMIT` characters) and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import MESSAGE_LIMIT, CalculusMLError, shortened
from . import commands
from .learning import run_check
from .parser import build_parser

__all__ = ["main", "build_parser"]

_COMMANDS = {"derive": commands.run_derive, "demo": commands.run_demo, "fit": commands.run_fit,
             "losses": commands.run_losses, "handout": commands.run_handout,
             "check": run_check}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    args.ascii = not _can_encode(encoding)
    try:
        output = _COMMANDS[args.command](args)  # text, or (text, exit status) for a verdict
    except CalculusMLError as error:
        print(f"calculus-ml: error: {shortened(str(error).splitlines()[0], MESSAGE_LIMIT)}",
              file=sys.stderr)
        return 2
    output, status = output if isinstance(output, tuple) else (output, 0)
    from ..render.line import plain

    sys.stdout.write(plain(output if output.endswith("\n") else output + "\n", encoding))
    return status


def _can_encode(encoding: str) -> bool:
    """Whether a stream in ``encoding`` can write the package's Unicode maths."""
    try:
        "⎛∂Σσ⋅ᵢ─•".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True
