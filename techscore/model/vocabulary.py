"""The metrics a run records, declared once: each name with its Chinese and English label and which way is better.

Training and joint modelling emit metric keys built from this vocabulary and nothing else: ``<part>_<name>``
(`test_auc`), ``challenger_<part>_<name>``, ``cv_<name>_mean`` / ``cv_<name>_std`` (also with ``challenger_``),
``<fold>_test_auc``, the bare run-level names (`best_iteration`, `n_trees`, `cutoff_pd`) and any of these
qualified by a segment or comparison after a dot (`test_auc.seg_industry.C`, `auc_diff.pooling_gain`). Reports label metrics by parsing
the key against this table (`parse_metric`); a key outside it is an error in the producer, not a guess in the
reader (tests/model/test_vocabulary.py trains a model and checks every key it emits).

>>> parse_metric("challenger_test_auc")
MetricKey(metric=Metric(name='auc', zh='AUC', en='AUC', higher_is_better=True), part='test', model='challenger', statistic=None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["METRICS", "PARTS", "Metric", "MetricKey", "metric", "parse_metric"]


@dataclass(frozen=True)
class Metric:
    """One metric: its key, its labels in both languages, and whether a higher value is better (None: neither)."""

    name: str
    zh: str
    en: str
    higher_is_better: bool | None


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("auc", "AUC", "AUC", True),
    Metric("gini", "基尼系数", "Gini", True),
    Metric("ks", "KS 统计量", "KS", True),
    Metric("brier", "Brier 分数", "Brier score", False),
    Metric("log_loss", "对数损失", "log loss", False),
    Metric("score_psi", "评分 PSI", "score PSI", False),
    Metric("bad_rate", "坏账率", "bad rate", None),
    Metric("mean_pd", "平均违约概率", "mean PD", None),
    Metric("rows", "样本数", "rows", None),
    Metric("bad", "违约笔数", "defaults", None),
    Metric("lift_top_decile", "首十分位提升度", "top-decile lift", True),
    Metric("capture_top_decile", "首十分位捕获率", "top-decile capture", True),
    Metric("best_iteration", "最佳迭代次数", "best iteration", None),
    Metric("n_trees", "树的数量", "trees", None),
    # the out-of-time embargo and the leakage guard before fitting (`techscore.model.split`, `.leakage`)
    Metric("embargo_months", "隔离期月数", "embargo months", None),
    Metric("embargo_rows", "隔离期剔除笔数", "loans left out by the embargo", None),
    Metric("leakage_flagged_columns", "疑似泄漏特征数", "columns flagged for leakage", False),
    Metric("leakage_allowed_columns", "已复核放行特征数", "flagged columns allowed after review", None),
    # the champion chosen inside the training part (`techscore.model.champion`)
    Metric("champion_inner_log_loss_lightgbm", "内层交叉验证对数损失（LightGBM）", "inner CV log loss, LightGBM", False),
    Metric("champion_inner_log_loss_scorecard", "内层交叉验证对数损失（评分卡）", "inner CV log loss, scorecard", False),
    Metric("champion_inner_log_loss_blend", "内层交叉验证对数损失（融合）", "inner CV log loss, blend", False),
    Metric("champion_weight_lightgbm", "融合权重（LightGBM）", "blend weight, LightGBM", None),
    Metric("champion_weight_scorecard", "融合权重（评分卡）", "blend weight, scorecard", None),
    Metric("champion_folds_lightgbm", "LightGBM 胜出折数", "outer folds won by LightGBM", None),
    Metric("champion_folds_scorecard", "评分卡胜出折数", "outer folds won by the scorecard", None),
    Metric("champion_folds_blend", "融合模型胜出折数", "outer folds won by the blend", None),
    # joint modelling: intervals, calibration and the outcomes at a bank's cut-off (`techscore.joint.compare`)
    Metric("auc_lo", "AUC 区间下限", "AUC interval, low", None),
    Metric("auc_hi", "AUC 区间上限", "AUC interval, high", None),
    Metric("calibration_oe", "观察/预期违约比", "observed / expected defaults", None),
    Metric("cutoff_pd", "截断违约概率", "cut-off PD", None),
    Metric("cutoff_score", "截断评分", "cut-off score", None),
    Metric("max_bad_rate", "可容忍违约率上限", "tolerated bad rate", None),
    Metric("approval_rate", "通过率", "approval rate", None),
    Metric("approved", "通过笔数", "approved", None),
    Metric("approved_bad_rate", "通过者违约率", "bad rate of the approved", False),
    Metric("approved_expected_bad_rate", "通过者预期违约率", "expected bad rate of the approved", None),
    Metric("refused_bad_rate", "拒绝者违约率", "bad rate of the refused", None),
    Metric("auc_diff", "AUC 差值", "AUC difference", True),
    Metric("auc_diff_lo", "AUC 差值区间下限", "AUC difference interval, low", None),
    Metric("auc_diff_hi", "AUC 差值区间上限", "AUC difference interval, high", None),
    # portfolio monitoring, one run per as-of date (`techscore.monitor.run`)
    Metric("early_warnings", "预警企业数", "firms on the early-warning list", None),
    Metric("features_psi_moderate", "PSI 中度偏移特征数", "features with a moderate PSI shift", False),
    Metric("features_psi_significant", "PSI 显著偏移特征数", "features with a significant PSI shift", False),
    Metric("mean_logodds_change", "平均对数几率变化", "change of the mean log-odds", None),
    Metric("events", "风险事件数", "event signals from the raw data", None),
    Metric("expected_auc", "预期 AUC（基于置信度估计）", "expected AUC (confidence-based)", None),
    Metric("expected_default_rate", "预期违约率", "expected default rate", None),
    Metric("realized_auc", "实际 AUC", "realized AUC", True),
    Metric("realized_default_rate", "实际违约率", "realized default rate", None),
    Metric("backtest_red_grades", "回测红灯等级数", "grades red in the backtest", False),
)}
"""Every metric name a run records."""

PARTS: dict[str, tuple[str, str]] = {
    "train": ("训练集", "train"),
    "valid": ("验证集", "validation"),
    "test": ("测试集（跨时间）", "test (out of time)"),
}
"""The parts of a run's rows metrics are computed on (`test`: out of time, or out of fold for cv runs)."""

_KEY = re.compile(r"^(?P<cv>cv_)?(?P<model>challenger_)?(?:(?P<part>train|valid|test)_)?(?P<name>[a-z_]+?)"
                  r"(?:_(?P<stat>mean|std))?$")
_FOLD_AUC = re.compile(r"^(?P<fold>[a-z0-9]+(?:_[a-z0-9]+)*?)_test_auc$")


@dataclass(frozen=True)
class MetricKey:
    """A parsed metric key: the metric, the part of the rows, champion or challenger, cv statistic."""

    metric: Metric
    part: str | None = None
    model: str = "champion"
    statistic: str | None = None
    qualifier: str | None = None
    """What follows the first dot: a segment and its value, or a comparison."""


def metric(name: str) -> Metric:
    """The declared metric `name`; KeyError naming the declared ones otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; declared: {', '.join(METRICS)}") from None


def parse_metric(key: str) -> MetricKey | None:
    """The metric a run's key names (`test_auc`, `challenger_valid_ks`, `cv_auc_mean`, `fold3_test_auc`), or None
    when the key is not built from the vocabulary."""
    head, dot, qualifier = key.partition(".")
    if dot:
        parsed = parse_metric(head)
        return None if parsed is None or not qualifier else MetricKey(
            parsed.metric, parsed.part, parsed.model, parsed.statistic, qualifier)
    m = _KEY.match(key)
    if m and m["name"] in METRICS and (m["cv"] is None) == (m["stat"] is None):
        if m["cv"] is None or m["part"] is None:
            return MetricKey(METRICS[m["name"]], part=m["part"] or ("test" if m["cv"] else None),
                             model="challenger" if m["model"] else "champion", statistic=m["stat"])
    if _FOLD_AUC.match(key):
        return MetricKey(METRICS["auc"], part="test")
    return None
