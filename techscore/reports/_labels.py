"""Bilingual labels for the plot names, segment keys and table columns that appear in reports (metric labels come
from `techscore.model.vocabulary`)."""

from __future__ import annotations

import re

from techscore.model.vocabulary import METRICS as VOCABULARY
from techscore.model.vocabulary import PARTS

METRICS: dict[str, tuple[str, str]] = {m.name: (m.zh, m.en) for m in VOCABULARY.values()}
"""Labels of the metrics a run records (`techscore.model.vocabulary`, the one declaration)."""

SPLITS: dict[str, tuple[str, str]] = {**PARTS, "embargo": ("隔离期（剔除）", "embargo gap (left out)")}
"""The split table's rows: the parts of the rows, and the out-of-time embargo gap left out of fitting."""

SEGMENTS: dict[str, tuple[str, str]] = {
    "seg_industry": ("行业门类", "industry section"),
    "seg_region": ("地区（省）", "region (province)"),
    "seg_lifecycle": ("生命周期阶段", "lifecycle stage"),
    "seg_first_loan": ("首贷户", "first-time borrower"),
    "bank_id": ("银行", "bank"),
    "thin_file": ("薄档案企业", "thin-file firms"),
    "year": ("年份", "year"),
    "grade": ("等级", "grade"),
}

PLOTS: dict[str, tuple[str, str]] = {
    "roc": ("ROC 曲线", "ROC curve"),
    "ks": ("KS 曲线", "KS curve"),
    "calibration": ("校准曲线", "calibration curve"),
    "reliability": ("校准曲线", "reliability curve"),
    "lift": ("提升度", "lift"),
    "gain": ("累积增益", "cumulative gain"),
    "gains": ("累积增益", "cumulative gain"),
    "score_distribution": ("评分分布", "score distribution"),
    "score_dist": ("评分分布", "score distribution"),
    "pd_distribution": ("违约概率分布", "PD distribution"),
    "grade": ("按等级的违约率", "default rate by grade"),
    "grades": ("按等级的违约率", "default rate by grade"),
    "psi": ("稳定性 PSI", "stability (PSI)"),
    "importance": ("特征重要性", "feature importance"),
    "learning_curve": ("学习曲线", "learning curve"),
    "pr": ("精确率-召回率曲线", "precision-recall curve"),
    "confusion": ("混淆矩阵", "confusion matrix"),
}

_WORDS = re.compile(r"[_\-./ ]+")


def label(key: str, table: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """Chinese and English label of `key` from `table`; unknown keys read as words ("bad_rate_x" -> "bad rate x")."""
    k = key.strip().lower()
    if k in table:
        return table[k]
    words = _WORDS.sub(" ", key).strip()
    for name, (zh, en) in table.items():  # a known name inside a longer key ("roc_curve", "plot_calibration")
        if re.search(rf"(^|[_\-./ ]){re.escape(name)}($|[_\-./ ])", k):
            rest = _WORDS.sub(" ", re.sub(rf"(^|[_\-./ ]){re.escape(name)}($|[_\-./ ])", " ", k)).strip()
            return (f"{zh} {rest}".strip(), f"{en} {rest}".strip()) if rest and rest not in {"curve", "plot"} else (zh, en)
    return words, words


COLUMNS: dict[str, tuple[str, str]] = {
    "rows": ("笔数", "rows"), "bad": ("违约", "defaults"), "bad_rate": ("违约率", "default rate"),
    "mean_pd": ("平均违约概率", "mean PD"), "min_pd": ("最小违约概率", "min PD"), "max_pd": ("最大违约概率", "max PD"),
    "pd_lower": ("违约概率下限", "PD from"), "pd_upper": ("违约概率上限", "PD up to"),
    "score_min": ("评分下限", "score from"), "score_max": ("评分上限", "score up to"),
    "expected_bad": ("预期违约", "expected defaults"), "p_value": ("二项检验 p 值", "binomial p-value"),
    "share": ("占比", "share"), "grade": ("等级", "grade"), "decile": ("十分位", "decile"), "lift": ("提升度", "lift"),
    "cum_rows_share": ("累计样本占比", "cumulative rows"), "cum_bad_share": ("累计违约占比", "cumulative defaults"),
    "cum_lift": ("累计提升度", "cumulative lift"), "feature": ("特征", "feature"), "name": ("名称", "name"),
    "psi": ("PSI", "PSI"), "missing_expected": ("训练集缺失率", "missing, train"),
    "missing_actual": ("测试集缺失率", "missing, test"), "variable": ("变量", "variable"), "bin": ("分箱", "bin"),
    "count": ("笔数", "count"), "count_share": ("占比", "share"), "event_rate": ("违约率", "default rate"),
    "woe": ("WOE", "WOE"), "iv": ("IV", "IV"), "coefficient": ("系数", "coefficient"), "points": ("分值", "points"),
    "value": ("分段", "segment"), "segment": ("分段维度", "segment key"), "auc": ("AUC", "AUC"), "ks": ("KS", "KS"),
    "gini": ("基尼系数", "Gini"), "brier": ("Brier", "Brier"), "challenger_auc": ("挑战者 AUC", "challenger AUC"),
    "split": ("样本", "split"), "period": ("期间", "period"), "fold": ("折", "fold"), "metric": ("指标", "metric"),
    "champion": ("冠军", "champion"), "challenger": ("挑战者", "challenger"), "difference": ("差值", "difference"),
    "expected_share": ("训练集占比", "train share"), "actual_share": ("测试集占比", "test share"),
    "lower": ("下限", "from"), "upper": ("上限", "to"), "expected": ("训练集笔数", "train rows"),
    "actual": ("测试集笔数", "test rows"), "log_loss": ("对数损失", "log loss"),
}
"""Column headers of the tables the training run writes."""
COLUMNS.update({
    "bins": ("分箱数", "bins"), "points_min": ("最低分值", "lowest points"), "points_max": ("最高分值", "highest points"),
})
