"""umap-learn with its compiled functions cached on disk, so that only the first process ever compiles them.

umap-learn declares its numba functions without `cache=True`, so every fresh process spends seconds compiling
the same machine code before the first projection (measured: about 7 s of a 20,000-customer training on this
project's 2-core machine). Numba can cache any function it compiles, keyed by the source file and the
argument types, and checks the source file's timestamp before reusing the cache: turning caching on for
umap's functions before their first call makes every later process load them from disk instead. Where the
package folder is not writable, numba keeps the cache in its user-wide cache folder (or $NUMBA_CACHE_DIR).
"""

from __future__ import annotations

import logging
from types import ModuleType

log = logging.getLogger(__name__)

_MODULES = ("umap.umap_", "umap.layouts", "umap.utils", "umap.distances", "umap.spectral")
_done = False


def cached_umap() -> ModuleType:
    """The `umap` package, with disk caching turned on for every numba function of its modules."""
    global _done
    import importlib

    import umap

    if not _done:
        from numba.core.registry import CPUDispatcher

        count = 0
        for name in _MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:  # a module this umap-learn version does not have
                continue
            for value in vars(module).values():
                if isinstance(value, CPUDispatcher) and value.py_func.__module__ == name:
                    value.enable_caching()
                    count += 1
        log.debug("numba caching on for %d umap functions", count)
        _done = True
    return umap
