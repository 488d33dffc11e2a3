"""A killed run leaves no partial output, a failed run cleans up, and a re-run gives the same result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from techscore.scoring import score_file
from techscore.scoring.output import AtomicTableWriter
from tests.scoring._world import feature_table

CLI = [sys.executable, "-c", "from techscore.cli import main; main()"]


def _partials(folder):
    return sorted(p.name for p in folder.glob("*.partial-*"))


@pytest.mark.slow
def test_killed_run_leaves_no_output_and_rerun_equals_an_uninterrupted_run(model, model_dir, tmp_path):
    frame = feature_table(60_000, seed=9)[0]
    source = tmp_path / "features.parquet"
    frame.to_parquet(source, index=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "scores.parquet"
    args = [*CLI, "score", "--model", str(model_dir), "--input", str(source), "--output", str(target),
            "--chunk-rows", "1000", "--json"]

    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while True:  # wait until some chunks of the scores are on disk, then kill the run mid-way
        partial = list(out_dir.glob("scores.parquet.partial-*"))
        if partial and partial[0].stat().st_size > 64 * 1024:
            break
        assert proc.poll() is None, "the run ended before it could be killed: " + proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the run wrote nothing in 120 s"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists() and not (out_dir / "scores.rejects.parquet").exists()
    assert _partials(out_dir) == [f"scores.parquet.partial-{proc.pid}", f"scores.rejects.parquet.partial-{proc.pid}"]

    rerun = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _partials(out_dir) == []  # the killed run's leftovers are cleaned
    reference = score_file(model, source, tmp_path / "reference.parquet", chunk_rows=1000)
    assert reference.input == reference.scored == 60_000
    assert target.read_bytes() == (tmp_path / "reference.parquet").read_bytes()
    assert pq.read_table(target).equals(pq.read_table(reference.output))


def test_a_failed_run_removes_its_partial_files_and_keeps_the_previous_result(model, clean_frame, tmp_path):
    source = tmp_path / "in.parquet"
    clean_frame.to_parquet(source, index=False)
    first = score_file(model, source, tmp_path / "scores.parquet")
    before = (tmp_path / "scores.parquet").read_bytes()

    def fail(_done: int, _total: int, _what: str) -> None:
        raise KeyboardInterrupt  # as when the user presses Ctrl-C mid-run

    with pytest.raises(KeyboardInterrupt):
        score_file(model, source, tmp_path / "scores.parquet", chunk_rows=500, progress=fail)
    assert _partials(tmp_path) == []
    assert (tmp_path / "scores.parquet").read_bytes() == before
    assert first.scored == len(clean_frame)


def test_leftovers_of_live_processes_are_kept(tmp_path):
    import pyarrow as pa

    live = tmp_path / f"scores.parquet.partial-{os.getppid()}"
    dead = tmp_path / "scores.parquet.partial-999999999"
    live.write_bytes(b"x")
    dead.write_bytes(b"x")
    schema = pa.schema([pa.field("row", pa.int64())])
    with AtomicTableWriter(tmp_path / "scores.parquet", schema) as writer:
        writer.write(pa.table({"row": pa.array([1, 2], pa.int64())}))
        writer.commit()
    assert live.exists() and not dead.exists()
    assert pq.read_table(tmp_path / "scores.parquet")["row"].to_pylist() == [1, 2]
