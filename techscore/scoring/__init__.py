"""Batch scoring: stream feature tables through a PD model with exact SHAP reason codes; nothing is lost.

`score_file` scores a Parquet or CSV feature table chunk by chunk into a scores file and a rejects file (every
input row lands in one of them); `ChunkScorer` is the per-chunk engine it shares with the MLflow pyfunc model
of `techscore.scoring.pyfunc`, which scores Spark DataFrames through `mlflow.pyfunc.spark_udf`.
"""

from techscore.scoring.guard import ID_COLUMN, REJECT_CODES, InputSchema, RowCheck, check_columns, check_rows
from techscore.scoring.raw import featurize_table
from techscore.scoring.score import (
    DEFAULT_CHUNK_ROWS,
    ChunkScorer,
    ScoreSummary,
    rejects_path_for,
    score_file,
)
from techscore.scoring.stream import Chunk, TableInput, open_input

__all__ = [
    "DEFAULT_CHUNK_ROWS", "ID_COLUMN", "REJECT_CODES", "Chunk", "ChunkScorer", "InputSchema", "RowCheck",
    "ScoreSummary", "TableInput", "check_columns", "check_rows", "featurize_table", "open_input", "rejects_path_for",
    "score_file",
]
