"""score_file: row accounting, agreement with shap.TreeExplainer and PDModel.predict_pd, formats and options."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from techscore.exceptions import ScoringError
from techscore.scoring import REJECT_CODES, ChunkScorer, score_file
from tests.scoring._world import IDS


def _read(path) -> pd.DataFrame:
    if str(path).endswith(".csv"):
        return pd.read_csv(path, dtype={"uscc": str})
    return pq.read_table(path).to_pandas()


def _planted_rows(planted: dict[int, str]) -> dict[int, str]:
    return {pos + 1: code for pos, code in planted.items()}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_every_row_is_scored_or_rejected_with_its_reason(model, dirty, dirty_parquet, dirty_csv, tmp_path, fmt):
    frame, planted = dirty
    source = dirty_parquet if fmt == "parquet" else dirty_csv
    summary = score_file(model, source, tmp_path / f"scores.{fmt}", chunk_rows=997)
    scores, rejects = _read(summary.output), _read(summary.rejects)

    assert summary.input == len(frame) == summary.scored + summary.rejected
    assert (summary.scored, summary.rejected) == (len(scores), len(rejects))
    rows = np.concatenate([scores["row"].to_numpy(), rejects["row"].to_numpy()])
    assert np.array_equal(np.sort(rows), np.arange(1, len(frame) + 1))  # each input row exactly once
    assert dict(zip(rejects["row"], rejects["reject_code"], strict=True)) == _planted_rows(planted)
    assert summary.rejected_by == {code: 7 for code in set(planted.values())}
    assert set(rejects["reject_code"]) <= set(REJECT_CODES)
    assert scores["uscc"].tolist() == frame["uscc"].iloc[scores["row"] - 1].tolist()
    by_code = rejects.set_index("reject_code")["reject_reason"]
    assert by_code["unknown_category"].str.contains("profile_industry_section: category not seen in training: 'Q'").all()
    assert by_code["infinite"].str.contains("fin_leverage: infinite value").all()
    assert by_code["invalid_uscc"].str.startswith("invalid uscc").all()


def test_scores_agree_with_shap_tree_explainer_and_predict_pd(model, dirty, dirty_parquet, tmp_path):
    import shap

    frame, planted = dirty
    k = 5
    scores = _read(score_file(model, dirty_parquet, tmp_path / "scores.parquet", reasons=k, chunk_rows=1000).output)
    good = frame.iloc[scores["row"].to_numpy() - 1].reset_index(drop=True)

    expected_pd = model.predict_pd(good)
    np.testing.assert_allclose(scores["pd"], expected_pd, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(scores["score"], model.score(expected_pd))
    assert scores["grade"].astype(str).tolist() == list(model.grade(expected_pd))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phi = shap.TreeExplainer(model.booster).shap_values(model.prepare(good))
    phi = np.asarray(phi[1] if isinstance(phi, list) else phi)
    order = np.argsort(-phi, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(phi, order, axis=1)
    names = np.asarray(model.feature_ids, dtype=object)
    codes = np.where(top > 0, names[order], None)
    got_codes = scores[[f"reason_{j}" for j in range(1, k + 1)]].astype(object)
    got_codes = got_codes.where(got_codes.notna(), None).to_numpy()
    assert (got_codes == codes).all()
    got_shap = scores[[f"reason_{j}_shap" for j in range(1, k + 1)]].to_numpy(dtype=float)
    np.testing.assert_allclose(got_shap, np.where(top > 0, top, np.nan), rtol=0, atol=1e-6)
    assert (top[:, 0] > 0).mean() > 0.9  # most firms have a risk-raising factor: the test compares real codes


def test_chunk_size_and_format_do_not_change_results(model, dirty_parquet, dirty_csv, tmp_path):
    one = _read(score_file(model, dirty_parquet, tmp_path / "a.parquet", chunk_rows=100_000).output)
    many = _read(score_file(model, dirty_parquet, tmp_path / "b.parquet", chunk_rows=37).output)
    csv = _read(score_file(model, dirty_csv, tmp_path / "c.csv", chunk_rows=500).output)
    pd.testing.assert_frame_equal(one, many)
    assert csv["row"].tolist() == one["row"].tolist()
    np.testing.assert_allclose(csv["pd"], one["pd"], rtol=1e-12)
    assert csv["reason_1"].fillna("").tolist() == one["reason_1"].astype(object).fillna("").tolist()


def test_reasons_zero_scores_without_shap(model, dirty_parquet, tmp_path):
    full = _read(score_file(model, dirty_parquet, tmp_path / "a.parquet", reasons=5).output)
    bare = _read(score_file(model, dirty_parquet, tmp_path / "b.parquet", reasons=0).output)
    assert list(bare.columns) == ["row", "uscc", "pd", "score", "grade"]
    np.testing.assert_allclose(bare["pd"], full["pd"], rtol=0, atol=1e-12)


def test_keep_columns_and_default_rejects_path(model, clean_frame, tmp_path):
    frame = clean_frame.head(50).assign(application_id=[f"APP{i:03d}" for i in range(50)])
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    summary = score_file(model, tmp_path / "in.parquet", tmp_path / "out" / "scores.parquet", keep=["application_id"])
    scores = _read(summary.output)
    assert list(scores.columns[:3]) == ["row", "uscc", "application_id"]
    assert scores["application_id"].tolist() == frame["application_id"].tolist()
    assert summary.rejects == str(tmp_path / "out" / "scores.rejects.parquet")
    assert len(_read(summary.rejects)) == 0
    with pytest.raises(ScoringError, match="columns to keep are not in the input: branch"):
        score_file(model, tmp_path / "in.parquet", tmp_path / "x.parquet", keep=["branch"])


def test_csv_text_values_and_malformed_lines_are_rejected_with_their_row(model, clean_frame, tmp_path):
    lines = clean_frame.head(20).to_csv(index=False).splitlines()
    header, body = lines[0], lines[1:]
    fields = body[3].split(",")
    fields[IDS.index("inno_points") + 1] = "n/a!"
    body[3] = ",".join(fields)
    body[7] = ",".join(body[7].split(",")[:-2])  # too few fields
    body.insert(12, body[12] + ",extra")  # a new line with too many fields, after line 12
    (tmp_path / "in.csv").write_text("\n".join([header, *body]) + "\n", encoding="utf-8")

    summary = score_file(model, tmp_path / "in.csv", tmp_path / "scores.csv", chunk_rows=4)
    scores, rejects = _read(summary.output), _read(summary.rejects)
    assert summary.input == 21 == summary.scored + summary.rejected
    assert dict(zip(rejects["row"], rejects["reject_code"], strict=True)) == {
        4: "not_a_number", 8: "malformed_row", 13: "malformed_row"}
    assert rejects.set_index("row").loc[4, "reject_reason"] == "inno_points: not a number: 'n/a!'"
    assert rejects.set_index("row").loc[8, "reject_reason"].startswith("malformed row: expected 10 fields, got 8")
    # rows after a malformed line keep their own numbers: row 14 is the original 13th firm
    assert scores.set_index("row").loc[14, "uscc"] == clean_frame["uscc"].iloc[12]
    assert scores.set_index("row").loc[21, "uscc"] == clean_frame["uscc"].iloc[19]


def test_empty_input_gives_header_only_outputs(model, clean_frame, tmp_path):
    clean_frame.head(0).to_parquet(tmp_path / "in.parquet", index=False)
    summary = score_file(model, tmp_path / "in.parquet", tmp_path / "scores.csv")
    assert (summary.input, summary.scored, summary.rejected) == (0, 0, 0)
    assert (tmp_path / "scores.csv").read_text().splitlines()[0].startswith('"row","uscc","pd","score","grade"')


def test_outputs_must_not_overwrite_the_input(model, dirty_parquet, tmp_path):
    with pytest.raises(ScoringError, match="must not overwrite the input"):
        score_file(model, dirty_parquet, dirty_parquet)
    with pytest.raises(ScoringError, match="different files"):
        score_file(model, dirty_parquet, tmp_path / "a.parquet", rejects=tmp_path / "a.parquet")
    with pytest.raises(ScoringError, match=r"output must end in \.parquet or \.csv"):
        score_file(model, dirty_parquet, tmp_path / "a.json")


def test_score_frame_answers_every_row(model, dirty):
    frame, planted = dirty
    sample = frame.head(400)
    out = ChunkScorer(model, 3, require_id=False).score_frame(sample)
    assert len(out) == len(sample) and out.index.equals(sample.index)
    bad = {p: c for p, c in planted.items() if p < 400}
    assert out["reject_code"].dropna().to_dict() == bad
    assert out.loc[list(bad), "pd"].isna().all()
    good = out["reject_code"].isna()
    np.testing.assert_allclose(out.loc[good, "pd"], model.predict_pd(sample[good.to_numpy()]), atol=1e-12)


def test_score_frame_names_missing_columns(model, clean_frame):
    from techscore.exceptions import SchemaError

    with pytest.raises(SchemaError, match="the frame to score: feature table is missing 1 column the model was "
                                          "trained on: fin_leverage"):
        ChunkScorer(model, 3, require_id=False).score_frame(clean_frame.drop(columns=["fin_leverage", "uscc"]))
