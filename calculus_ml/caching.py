"""The package's process-wide memory, in one place.

Deriving, verifying, printing and compiling repeat the same pure work on the same SymPy
expressions (``d/du[u²] = 2u`` appears in every squared error), so results are remembered for the
process, in bounded least-recently-used stores:

* :func:`remembered` -- a decorator for a pure function of hashable arguments;
* :class:`BoundedMemo` -- a mapping for values computed elsewhere (a proof, a compiled loss).

:func:`clear` empties every store, e.g. before a cold-start benchmark. And a package's public
names can be imported the first time they are asked for, then kept on the package
(:func:`loaded_on_first_use`), so importing the package stays cheap.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["remembered", "BoundedMemo", "clear", "loaded_on_first_use", "DEFAULT_SIZE"]

DEFAULT_SIZE = 4096
"""Entries kept by a store unless it asks for another size."""

F = TypeVar("F", bound=Callable[..., Any])
V = TypeVar("V")

_STORES: list[Callable[[], None]] = []  # each store's clear method


def remembered(maxsize: int = DEFAULT_SIZE) -> Callable[[F], F]:
    """Remember the results of a pure function of hashable arguments, for the process.

    Parameters
    ----------
    maxsize : int
        Results kept; the least recently used is forgotten first.

    Returns
    -------
    callable
        A decorator; the decorated function keeps ``cache_clear`` and ``cache_info``.
    """

    def decorate(function: F) -> F:
        cached = functools.lru_cache(maxsize=maxsize)(function)
        _STORES.append(cached.cache_clear)
        return cached  # type: ignore[return-value]

    return decorate


class BoundedMemo(Generic[V]):
    """A bounded least-recently-used mapping from hashable keys to values.

    Parameters
    ----------
    maxsize : int
        Entries kept; putting one more forgets the least recently used.
    """

    def __init__(self, maxsize: int = DEFAULT_SIZE):
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        _STORES.append(self._entries.clear)

    def get(self, key: Hashable) -> V | None:
        """The value stored under ``key`` (now the most recently used), or None."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> V:
        """Store ``value`` under ``key`` and return it."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


def clear() -> None:
    """Forget everything every store of the package remembers."""
    for clear_store in _STORES:
        clear_store()


def loaded_on_first_use(package: str, exports: Mapping[str, str]
                        ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package whose public names load on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``, while its ``__init__`` runs.
    exports : mapping
        ``name → submodule`` defining it (``None``: the name is itself a submodule). The first
        lookup of a name imports the submodule and keeps the value on the package, so later
        lookups are plain attribute reads.

    Returns
    -------
    (callable, callable)
        To assign as the package's ``__getattr__`` and ``__dir__``.
    """
    module = sys.modules[package]

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        source = exports[name]
        value = importlib.import_module(f".{source or name}", package)
        value = value if source is None else getattr(value, name)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(module)) | set(exports))

    return __getattr__, __dir__
