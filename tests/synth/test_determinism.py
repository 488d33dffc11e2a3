"""Same seed, same bytes; another seed, another world."""

from __future__ import annotations

import hashlib

import pytest

from techscore.synth import generate


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    a = generate(400, 21, tmp_path / "a")
    b = generate(400, 21, tmp_path / "b")
    c = generate(400, 22, tmp_path / "c")
    ha, hb, hc = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert len(ha) == 12 and ha == hb
    assert a.rows == b.rows
    parquet = [n for n in ha if n.endswith(".parquet")]
    assert all(ha[n] != hc[n] for n in parquet)
    assert c.rows != a.rows


def test_chunking_keeps_tables_complete(tmp_path):
    whole = generate(300, 4, tmp_path / "whole")
    chunked = generate(300, 4, tmp_path / "chunked", chunk_firms=70, chunk_edges=100)
    assert chunked.rows["enterprises"] == whole.rows["enterprises"] == 300
    assert abs(chunked.rows["financials"] - whole.rows["financials"]) < 0.1 * whole.rows["financials"]


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_firms must be at least 10; got 3"):
        generate(3, 1, tmp_path)
    with pytest.raises(ValueError, match="end_year must be at least 3 years after start_year"):
        generate(100, 1, tmp_path, start_year=2020, end_year=2021)
