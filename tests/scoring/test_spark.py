"""The distributed path: the registered scoring pyfunc model scores a Spark DataFrame through
`mlflow.pyfunc.spark_udf` (Spark in local mode, via `score_spark`) with the same outputs as the local command."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from techscore.scoring import score_file


@pytest.fixture
def spark(monkeypatch):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17) on the PATH")
    from pyspark.sql import SparkSession

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]").appName("techscore-scoring-test")
        .config("spark.ui.enabled", "false").config("spark.driver.memory", "1g")
        .config("spark.sql.shuffle.partitions", "2").config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_udf_scores_like_the_local_command(spark, model, dirty, tmp_path):
    import mlflow

    from techscore.model.registry import promote
    from techscore.scoring.pyfunc import log_scoring_model
    from techscore.scoring.spark import score_spark

    frame, planted = dirty
    sample = frame.head(800).reset_index(drop=True)
    assert any(p < 800 for p in planted)  # rejected kinds are in the sample
    with mlflow.start_run():
        info = log_scoring_model(model, reasons=5, registered_model_name="techscore_scoring_spark")
    promote("techscore_scoring_spark", info.registered_model_version)

    features = sample.astype({"uscc": object, "profile_industry_section": object})
    features = features.where(features.notna(), None).assign(**{c: sample[c] for c in model.feature_ids
                                                                 if c != "profile_industry_section"})
    features.insert(0, "row", np.arange(1, len(sample) + 1))
    sdf = spark.createDataFrame(features).repartition(2)
    scored_sdf = score_spark(sdf, "models:/techscore_scoring_spark@champion", keep=("row", "uscc"))
    remote = scored_sdf.toPandas().sort_values("row").reset_index(drop=True)

    sample.to_parquet(tmp_path / "in.parquet", index=False)
    summary = score_file(model, tmp_path / "in.parquet", tmp_path / "scores.parquet", reasons=5)
    local = pq.read_table(summary.output).to_pandas()
    rejects = pq.read_table(summary.rejects).to_pandas()

    assert len(remote) == len(sample)
    assert remote["uscc"].fillna("").tolist() == sample["uscc"].fillna("").tolist()
    assert remote.columns.tolist()[:5] == ["row", "uscc", "pd", "score", "grade"]
    scored = remote[remote["reject_code"].isna()].set_index("row")
    assert scored.index.tolist() == local["row"].tolist()
    local = local.set_index("row")
    np.testing.assert_allclose(scored["pd"], local["pd"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(scored["score"], local["score"])
    for c in ["grade", *[f"reason_{j}" for j in range(1, 6)]]:
        assert scored[c].fillna("").tolist() == local[c].astype(object).fillna("").tolist(), c
        if c != "grade":
            np.testing.assert_allclose(scored[f"{c}_shap"], local[f"{c}_shap"], atol=1e-12)
    rejected = remote[remote["reject_code"].notna()].set_index("row")
    assert rejected["reject_code"].to_dict() == rejects.set_index("row")["reject_code"].to_dict()
    assert rejected["reject_reason"].to_dict() == rejects.set_index("row")["reject_reason"].to_dict()
    assert rejected["pd"].isna().all()
