"""Batch scoring: stream feature tables through a PD model with reason codes; nothing is lost."""

from techscore.scoring.guard import InputSchema, check_columns, split_rows
from techscore.scoring.score import ChunkScorer, ScoreSummary, input_schema, score_file

__all__ = ["ChunkScorer", "InputSchema", "ScoreSummary", "check_columns", "input_schema", "score_file", "split_rows"]
