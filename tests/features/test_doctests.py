"""The examples in the catalogue's docstrings run (pytest collects only `tests/`)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import features

MODULES = [f"features.{m.name}" for m in pkgutil.iter_modules(features.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
