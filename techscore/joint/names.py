"""Names the joint-modelling parties share: banks, tracking users and comparisons become MLflow user and
experiment names, so they are held to one safe alphabet."""

from __future__ import annotations

import re

from techscore.exceptions import SpecError

__all__ = ["NAME_PATTERN", "check_name"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
"""1-64 letters, digits, '_', '.' or '-', starting with a letter or digit."""


def check_name(kind: str, name: str) -> str:
    """`name` when it is a safe party name, else a SpecError naming `kind` and what came."""
    if not NAME_PATTERN.match(name):
        raise SpecError(
            f"{kind} name must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit; got {name!r}."
        )
    return name
