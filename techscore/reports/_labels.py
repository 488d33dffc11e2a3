"""Bilingual labels for metric names, plot names and segment keys that appear in reports."""

from __future__ import annotations

import re

METRICS: dict[str, tuple[str, str]] = {
    "auc": ("AUC", "AUC"),
    "roc_auc": ("AUC", "AUC"),
    "gini": ("基尼系数", "Gini"),
    "ks": ("KS 统计量", "KS"),
    "brier": ("Brier 分数", "Brier score"),
    "log_loss": ("对数损失", "log loss"),
    "logloss": ("对数损失", "log loss"),
    "psi": ("群体稳定性指数 PSI", "population stability index (PSI)"),
    "score_psi": ("评分 PSI", "score PSI"),
    "bad_rate": ("坏账率", "bad rate"),
    "mean_pd": ("平均违约概率", "mean PD"),
    "default_rate": ("违约率", "default rate"),
    "rows": ("样本数", "rows"),
    "n": ("样本数", "rows"),
    "loans": ("贷款笔数", "loans"),
    "bad": ("违约笔数", "defaults"),
    "ece": ("期望校准误差", "expected calibration error"),
    "calibration_error": ("校准误差", "calibration error"),
    "hosmer_lemeshow_p": ("Hosmer-Lemeshow p 值", "Hosmer-Lemeshow p-value"),
    "lift_top_decile": ("首十分位提升度", "top-decile lift"),
    "lift_10": ("首十分位提升度", "top-decile lift"),
    "capture_top_decile": ("首十分位捕获率", "top-decile capture"),
    "accuracy_ratio": ("准确率比 AR", "accuracy ratio"),
    "best_iteration": ("最佳迭代次数", "best iteration"),
    "n_trees": ("树的数量", "trees"),
}

SPLITS: dict[str, tuple[str, str]] = {
    "train": ("训练集", "train"),
    "valid": ("验证集", "validation"),
    "validation": ("验证集", "validation"),
    "val": ("验证集", "validation"),
    "test": ("测试集（跨时间）", "test (out of time)"),
    "oot": ("跨时间测试集", "out-of-time test"),
    "all": ("全部", "all"),
}

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


def split_metric(key: str) -> tuple[str | None, str]:
    """`test_auc`, `auc_test`, `test/auc`, `auc.test` -> ("test", "auc"); no split: (None, key)."""
    parts = [p for p in _WORDS.split(key.lower()) if p]
    for i in (0, len(parts) - 1):
        if len(parts) > 1 and parts[i] in SPLITS:
            return parts[i], "_".join(parts[:i] + parts[i + 1:])
    return None, "_".join(parts)
