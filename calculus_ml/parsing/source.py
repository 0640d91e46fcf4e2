"""The learner's text, the text actually parsed, and carets that point from one to the other."""

from __future__ import annotations

import ast

from ..errors import ExpressionError

__all__ = ["Source", "error"]


def error(text: str, message: str, start: int, end: int | None = None) -> ExpressionError:
    """An ExpressionError: ``message``, then ``text``, then carets under ``text[start:end]``."""
    text = "".join(char if char.isprintable() else "?" for char in text)
    start = max(0, min(start, len(text)))
    width = max(1, min(end if end is not None else start + 1, len(text)) - start)
    return ExpressionError(f"{message}\n  {text}\n  {' ' * start}{'^' * width}")


class Source:
    """The user's text (on one line), the text parsed, and for each parsed column the column of
    the user's text it came from (one more entry, for the end)."""

    def __init__(self, text: str, parsed: str, origin: list[int]) -> None:
        self.text = text
        self.parsed = parsed
        self.origin = origin
        self._utf8 = None if parsed.isascii() else parsed.encode()

    def error(self, message: str, start: int, end: int | None = None) -> ExpressionError:
        """An error located at parsed-text columns ``start:end``."""
        last = len(self.origin) - 1
        begin = self.origin[max(0, min(start, last))]
        stop = None if end is None else self.origin[max(0, min(end - 1, last))] + 1
        return error(self.text, message, begin, stop)

    def _char(self, col: int) -> int:
        return col if self._utf8 is None else len(self._utf8[:col].decode("utf-8", "ignore"))

    def refuse(self, node: ast.AST, message: str) -> ExpressionError:
        """An error located at an AST node (whose columns count UTF-8 bytes)."""
        return self.error(message, self._char(node.col_offset), self._char(node.end_col_offset))

    def segment(self, node: ast.AST) -> str:
        """The parsed source text of ``node``."""
        return self.parsed[self._char(node.col_offset):self._char(node.end_col_offset)]
