"""The one signature of a progress callback: ``progress(done, total, what)`` after each step of a long job.

`done` and `total` count the job's own units (months of features, folds, rows scored, per-mille of a synthetic
world); `total` is 0 when it is not known. The library calls it and never draws anything; the CLI turns it into a
Rich progress bar.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress"]

Progress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, what)``."""
