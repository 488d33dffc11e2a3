"""Scoring a Spark DataFrame with the scoring pyfunc model through `mlflow.pyfunc.spark_udf`.

No cluster code of techscore's own: Spark distributes the rows, MLflow ships the model to the executors, and
each executor scores its batches with the same `ChunkScorer` as `techscore score`, so the outputs are the local
command's (rejected rows stay in the frame with `reject_code` and `reject_reason` and null results).

>>> scored = score_spark(spark.read.parquet("features/"), "models:/techscore_pd_scoring@champion")  # doctest: +SKIP
>>> scored.write.parquet("scores/")                                                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from techscore.scoring.guard import ID_COLUMN

__all__ = ["score_spark"]

RESULT = "__techscore_score"


def score_spark(frame, model_uri: str, *, keep: Sequence[str] = (ID_COLUMN,), env_manager: str = "local"):
    """Score Spark DataFrame `frame` with the scoring pyfunc model at `model_uri`.

    Parameters
    ----------
    frame : a Spark DataFrame holding the model's feature columns (and `uscc`, checked when present).
    model_uri : a model logged by `techscore.scoring.pyfunc.log_scoring_model` (`models:/name@champion`, ...).
    keep : columns of `frame` put first in the result (the firm's code by default; add a row id to join back).
    env_manager : MLflow's environment manager for the executors ("local": the current environment).

    Returns
    -------
    A Spark DataFrame: `keep`, then the scoring model's outputs with nulls where a value is absent.
    """
    import mlflow.models
    import mlflow.pyfunc
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, StringType

    signature = mlflow.models.get_model_info(model_uri).signature
    names = signature.inputs.input_names() if signature is not None else list(frame.columns)
    inputs = [F.col(c) for c in names if c in frame.columns]
    udf = mlflow.pyfunc.spark_udf(frame.sparkSession, model_uri, env_manager=env_manager)
    scored = frame.withColumn(RESULT, udf(F.struct(*inputs)))
    columns = [F.col(c) for c in keep]
    for field in scored.schema[RESULT].dataType.fields:
        value = F.col(f"{RESULT}.{field.name}")
        if isinstance(field.dataType, StringType):
            value = F.when(value == "", F.lit(None)).otherwise(value)
        elif isinstance(field.dataType, DoubleType):
            value = F.when(F.isnan(value), F.lit(None)).otherwise(value)
        columns.append(value.alias(field.name))
    return scored.select(*columns)
