"""The joint-modelling experiment: on each bank's own out-of-time test loans, compare its own model with the model
pooled over the banks, on the platform's features alone and with the bank's own features.

What runs
---------
For a spec (`techscore.joint.spec`) with banks B1..Bk and variants among ``own``, ``pooled``, ``own_bank``,
``pooled_bank``:

1. the loan dataset is built point in time (`techscore.dataset.load_dataset`, cached by fingerprint) and each
   loan gets its lending bank's relationship features (`techscore.joint.bank_features`; missing for banks that
   do not supply them);
2. one out-of-time split for all loans (train < ``train_before`` <= validation < ``test_from`` <= test); a bank's
   train, validation and test loans are its own loans in each part;
3. models are fitted exactly as training fits them (`techscore.model.fit.fit_pd_model`: LightGBM with early
   stopping on validation, calibrated on validation, monotone constraints): the pooled models once on every spec
   bank's train and validation loans, the own models once per bank on its own (a bank with fewer than
   ``min_bad`` defaults in either part gets no own model, and the table says why);
4. every variant is scored on each bank's test loans and measured with the training pipeline's evaluation
   (`techscore.model.training.evaluate_predictions`: AUC, Gini, KS, Brier, log loss, lift, calibration by grade,
   segments, score PSI against the bank's training loans);
5. the bank's cut-off (`techscore.joint.compare`) is what the policy's cut-off tool gives on the bank's test
   applicants: each variant's own PDs choose the threshold (NPL rule: the expected bad rate, the mean PD of the
   approved, stays within the bank's NPL ratio plus its tolerance; or a target approval rate), no outcome is
   used; the outcomes then show what that approval delivered (approval rate, observed bad rate of the approved;
   a model whose PDs are too low approves more and misses its promised bad rate);
6. a paired, stratified bootstrap of the bank's test loans gives intervals of each AUC and of each
   comparison's AUC difference (e.g. ``pooled - own``: what the bank gains from pooling).

Where it is logged
------------------
One parent run in the platform's experiment (``joint/platform``) holds the comparison table
(``comparison.csv`` / ``.md``), the AUC differences (``auc_differences.csv``), the chart (``comparison.png``),
links to every child (``children.json`` and the tag ``techscore.children``), the spec files and the pooled
models. Each bank's child runs (one per variant) go to the bank's own experiment (``joint/<bank>``), written
with the bank's credentials, and carry the tag ``techscore.parent_run`` (the parent's run id) and
``techscore.parent_experiment``. MLflow nests runs only within one experiment (``mlflow.parentRunId``), and a
bank's runs must stay in the bank's experiment for the server's permissions to hide them from the other banks,
so the link is a tag (``mlflow.parentRunId`` is set as well when a child happens to share the parent's
experiment). A bank sees only its own children's metrics; the platform's parent holds the cross-bank table.

One process plays every party here (the synthetic world holds all banks' loans); the tracking server keeps
what each party may read apart.

>>> result = run_joint("experiments/joint_demo.toml", credentials="mlflow-server/credentials.json")  # doctest: +SKIP
>>> result.differences[["bank", "comparison", "auc_diff", "diff_lo", "diff_hi"]]                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.frame import LABEL, LoanDataset
from techscore.exceptions import ModelError
from techscore.joint.bank_features import BANK_FEATURE_IDS, BANK_FEATURES, bank_features
from techscore.joint.compare import approval_cutoff, at_cutoff, bootstrap_auc, npl_cutoff
from techscore.joint.spec import VARIANTS, JointSpec, load_joint
from techscore.model.pdmodel import PDModel
from techscore.model.training import Evaluation, evaluate_predictions
from techscore.specs import ModelSpec

__all__ = ["ChildRun", "JointResult", "Outcome", "run_joint"]

Progress = Callable[[int, int, str], None]
SUMMARY_COLUMNS = ("bank", "variant", "auc", "auc_lo", "auc_hi", "ks", "calibration_oe", "approval_rate",
                   "approved_bad_rate")


@dataclass
class Outcome:
    """One variant on one bank's loans: its model, PDs on the bank's train / validation / test loans, the test
    evaluation and the outcomes at the bank's cut-off (or why it did not run)."""

    bank: str
    variant: str
    model: PDModel | None = None
    fit_rows: int = 0
    pd: dict[str, np.ndarray] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    cutoff: float = float("nan")
    at_cutoff: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def ran(self) -> bool:
        return self.evaluation is not None


@dataclass(frozen=True)
class ChildRun:
    """Where one bank x variant child run was logged."""

    bank: str
    variant: str
    user: str
    experiment: str
    experiment_id: str
    run_id: str
    url: str


@dataclass
class JointResult:
    """What a joint experiment produced.

    `table`: one row per bank x variant (AUC with interval, KS, Brier, calibration, cut-off outcomes, and the AUC
    difference of the variant's first comparison); `differences`: one row per bank x comparison; `outcomes`:
    the fitted models and PDs; `frame`: the pooled banks' loans with their bank features, and `parts` each
    bank's train / valid / test positions in it; `children`: where each child run went; `paths`: files written.
    """

    spec: JointSpec
    model_spec: ModelSpec
    dataset: LoanDataset
    frame: pd.DataFrame
    parts: dict[str, dict[str, np.ndarray]]
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    tracking_uri: str | None = None
    parent_run_id: str | None = None
    parent_experiment: str | None = None
    parent_url: str | None = None
    children: list[ChildRun] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)


# --- data -------------------------------------------------------------------------------------------------------
def _dataset(spec: JointSpec, progress: Progress | None) -> LoanDataset:
    from techscore.dataset.experiment import load_dataset

    return load_dataset(spec.experiment_spec(), progress=progress)


def _with_bank_features(spec: JointSpec, ds: LoanDataset) -> tuple[pd.DataFrame, list[FeatureMeta]]:
    """The pool's rows (loans of the spec's banks) with the lending bank's features (missing where the bank
    supplies none), and the metadata of platform + bank features."""
    from techscore.sources.load import load_sources

    frame = ds.frame
    present = set(frame["bank_id"].astype("string").dropna().unique())
    unknown = [b for b in spec.banks if b not in present]
    if unknown:
        raise spec.error(f"banks.{unknown[0]}", f"no loan of the dataset has bank_id {unknown[0]!r}; the loans "
                                                f"come from {', '.join(sorted(present)) or 'no bank'}.")
    clash = [c for c in BANK_FEATURE_IDS if c in frame.columns]
    if clash:
        raise ModelError(f"the dataset already has columns named like bank features: {', '.join(clash)}.")
    pool = frame.loc[frame["bank_id"].isin(list(spec.banks)).to_numpy()].reset_index(drop=True)
    loans = load_sources(spec.resolve(spec.data.path), tables=["loans"]).loans  # type: ignore[arg-type]
    own = bank_features(loans, pool)
    silent = ~pool["bank_id"].isin([b for b, s in spec.banks.items() if s.features]).to_numpy()
    own.loc[silent, :] = np.nan
    return pd.concat([pool, own], axis=1), [*ds.features, *BANK_FEATURES]


# --- fitting ----------------------------------------------------------------------------------------------------
def _fit(frame: pd.DataFrame, y: np.ndarray, train: np.ndarray, valid: np.ndarray, features: list[FeatureMeta],
         mspec: ModelSpec, ds: LoanDataset, info: dict) -> PDModel:
    from techscore.model.fit import fit_pd_model

    X = frame[[f.id for f in features]]
    model, _ = fit_pd_model(X.iloc[train], y[train], X.iloc[valid], y[valid], features, mspec,
                            catalogue_version=ds.summary.get("catalogue_version"),
                            info={"dataset_fingerprint": ds.fingerprint, **info})
    return model


def _too_few(y: np.ndarray, parts: dict[str, np.ndarray], min_bad: int) -> str:
    for part in ("train", "valid"):
        bad = int(y[parts[part]].sum())
        good = len(parts[part]) - bad
        if bad < min_bad or good < min_bad:
            return (f"{bad} defaults and {good} non-defaults in its {part} loans; an own model needs at least "
                    f"{min_bad} of each (min_bad)")
    return ""


def _segments(spec: JointSpec, ds: LoanDataset) -> list[str]:
    if spec.segments is not None:
        missing = [s for s in spec.segments if s not in ds.frame.columns]
        if missing:
            raise spec.error("segments", f"columns the data does not have: {', '.join(missing)}.")
        return list(spec.segments)
    return [s for s in ds.segments if s != "bank_id"]


# --- the experiment ---------------------------------------------------------------------------------------------
def run_joint(
    experiment: str | Path | JointSpec,
    *,
    workspace: str | Path | None = None,
    tracking_uri: str | None = None,
    credentials: str | Path | dict | None = None,
    dataset: LoanDataset | None = None,
    tracking: bool = True,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> JointResult:
    """Run a joint-modelling experiment and (by default) log it: parent in the platform's experiment, children in
    each bank's.

    Parameters
    ----------
    experiment : joint spec file or object (`techscore.joint.spec.load_joint`).
    tracking_uri : MLflow URI (default: the credentials file's, else $MLFLOW_TRACKING_URI, else the local store).
    credentials : the JSON file `techscore server provision` writes (or its content); without it passwords come
        from ``TECHSCORE_PASSWORD_<USER>``. Not needed for a local store.
    dataset : use this loan dataset instead of building the spec's.
    tracking : log to MLflow (False: compute and write files only).
    out : folder for the tables, chart and child artifacts (default
        ``<workspace>/mlruns/outputs/joint/<name>``; replaced each run).
    progress : ``progress(done, total, what)`` after each step.
    """
    from techscore.joint import runs

    spec = experiment if isinstance(experiment, JointSpec) else load_joint(experiment, workspace=workspace)
    mspec = spec.model_spec()
    trk = runs.resolve_tracking(spec, tracking_uri=tracking_uri, credentials=credentials) if tracking else None
    ds = dataset if dataset is not None else _dataset(spec, progress)
    frame, all_features = _with_bank_features(spec, ds)
    y = frame[LABEL].to_numpy().astype(np.int64)
    from techscore.model.split import make_folds

    fold = make_folds(frame, y, spec.split)[0]
    banks = list(spec.banks)
    bank_of = frame["bank_id"].astype("string").to_numpy()
    parts = {b: {p: idx[bank_of[idx] == b] for p, idx in (("train", fold.train), ("valid", fold.valid),
                                                           ("test", fold.test))} for b in banks}
    feature_sets = {"platform": list(ds.features), "platform+bank": all_features}
    out_dir = Path(out) if out is not None else spec.workspace / "mlruns" / "outputs" / "joint" / spec.name
    n_steps = sum(1 for v in spec.variants if VARIANTS[v][0] == "pooled") + len(banks) * (
        sum(1 for v in spec.variants if VARIANTS[v][0] == "own") + 1) + (len(banks) + 1 if tracking else 0)
    step = _Stepper(progress, n_steps)

    result = JointResult(spec, mspec, ds, frame, parts)
    parent = _Parent(trk, spec, mspec, ds) if trk is not None else None
    try:
        outcomes = _fit_and_score(spec, mspec, ds, frame, y, fold, parts, feature_sets, step)
        result.outcomes = outcomes
        segments = _segments(spec, ds)
        for (bank, _), o in outcomes.items():
            if o.model is not None:
                _evaluate(o, spec, mspec, frame, y, parts[bank], segments)
        result.table, result.differences = _tables(spec, outcomes, y, parts, fold)
        result.paths = _write(result, out_dir)
        if parent is not None:
            result.tracking_uri = trk.uri
            for bank in banks:
                result.children.extend(parent.log_children(bank, result, out_dir))
                step(f"logged {bank}'s runs")
            parent.finish(result, out_dir)
            result.parent_run_id, result.parent_experiment, result.parent_url = (
                parent.run_id, parent.experiment, parent.url)
            step("logged the parent run")
    except BaseException as exc:
        if parent is not None:
            parent.fail(exc)
        raise
    return result


class _Stepper:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, what: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total, what)


def _fit_and_score(spec, mspec, ds, frame, y, fold, parts, feature_sets, step) -> dict[tuple[str, str], Outcome]:
    banks = list(spec.banks)
    outcomes: dict[tuple[str, str], Outcome] = {}
    pooled: dict[str, tuple[PDModel, int]] = {}
    for variant in spec.variants:
        training, features = VARIANTS[variant]
        if training == "pooled":
            model = _fit(frame, y, fold.train, fold.valid, feature_sets[features], mspec, ds,
                         {"joint": spec.name, "variant": variant, "banks": banks})
            pooled[variant] = (model, len(fold.train))
            step(f"fitted the {variant} model")
    for bank in banks:
        p = parts[bank]
        n_test_bad = int(y[p["test"]].sum())
        no_test = ("" if 0 < n_test_bad < len(p["test"]) else
                   f"its test loans hold {n_test_bad} defaults in {len(p['test'])} loans; AUC needs both outcomes")
        for variant in spec.variants:
            training, features = VARIANTS[variant]
            o = Outcome(bank, variant)
            outcomes[(bank, variant)] = o
            if features == "platform+bank" and not spec.banks[bank].features:
                o.note = "the bank supplies no features of its own (banks.<bank>.features = false)"
            elif no_test:
                o.note = no_test
            elif training == "pooled":
                o.model, o.fit_rows = pooled[variant]
            else:
                o.note = _too_few(y, p, spec.min_bad)
                if not o.note:
                    o.model = _fit(frame, y, p["train"], p["valid"], feature_sets[features], mspec, ds,
                                   {"joint": spec.name, "variant": variant, "bank": bank})
                    o.fit_rows = len(p["train"])
            if training == "own":
                step(f"fitted {bank}'s {variant} model" if o.model is not None else f"skipped {bank}'s {variant} model")
            if o.model is not None:
                X = frame[o.model.feature_ids]
                o.pd = {part: o.model.predict_pd(X.iloc[idx]) for part, idx in p.items() if len(idx)}
        step(f"scored {bank}'s test loans")
    return outcomes


def _evaluate(o: Outcome, spec: JointSpec, mspec: ModelSpec, frame: pd.DataFrame, y: np.ndarray,
              p: dict[str, np.ndarray], segments: list[str]) -> None:
    test = p["test"]
    o.evaluation = evaluate_predictions(
        y[test], o.pd["test"], scaling=mspec.scaling, master_scale=mspec.master_scale, frame=frame.iloc[test],
        segments=segments, min_rows=spec.min_segment_rows, reference_pd=o.pd.get("train"))
    bank = spec.banks[o.bank]
    p_test = o.pd["test"]
    o.cutoff = (npl_cutoff(p_test, bank.max_bad_rate) if bank.max_bad_rate is not None
                else approval_cutoff(p_test, bank.approval_rate))  # type: ignore[arg-type]
    o.at_cutoff = at_cutoff(y[test], p_test, o.cutoff)


# --- tables -----------------------------------------------------------------------------------------------------
def _seed(spec: JointSpec, bank: str) -> list[int]:
    """Each bank's bootstrap stream: the spec's seed and a stable hash of the bank id (independent of order)."""
    return [int(spec.bootstrap.seed), zlib.crc32(bank.encode("utf-8"))]


def _tables(spec: JointSpec, outcomes: dict[tuple[str, str], Outcome], y: np.ndarray,
            parts: dict[str, dict[str, np.ndarray]], fold) -> tuple[pd.DataFrame, pd.DataFrame]:
    from techscore.model.scale import pd_to_score

    comparisons = spec.comparison_list
    pool_train = len(fold.train)
    rows, diffs = [], []
    for bank, bank_spec in spec.banks.items():
        p = parts[bank]
        test_y = y[p["test"]]
        ran = {v: outcomes[(bank, v)] for v in spec.variants if outcomes[(bank, v)].ran}
        pairs = [(c.variant, c.baseline) for c in comparisons if c.variant in ran and c.baseline in ran]
        boot = (bootstrap_auc(test_y, {v: o.pd["test"] for v, o in ran.items()}, pairs, n=spec.bootstrap.n,
                              level=spec.bootstrap.level, seed=_seed(spec, bank)) if ran else None)
        ci = boot.aucs.set_index("model") if boot is not None else pd.DataFrame()
        dt = boot.differences.set_index(["variant", "baseline"]) if boot is not None else pd.DataFrame()
        base = {"bank": bank, "bank_train_loans": len(p["train"]), "bank_share_of_pool": len(p["train"]) / pool_train,
                "test_loans": len(p["test"]), "test_defaults": int(test_y.sum()),
                "test_bad_rate": float(test_y.mean()) if len(test_y) else float("nan")}
        for variant in spec.variants:
            o = outcomes[(bank, variant)]
            training, features = VARIANTS[variant]
            row = {**base, "variant": variant, "training": training, "features": features, "fit_loans": o.fit_rows}
            if o.ran:
                m = o.evaluation.metrics  # type: ignore[union-attr]
                row.update(auc=m["auc"], auc_lo=ci.loc[variant, "auc_lo"], auc_hi=ci.loc[variant, "auc_hi"],
                           gini=m["gini"], ks=m["ks"], brier=m["brier"], log_loss=m["log_loss"],
                           mean_pd=m["mean_pd"], calibration_oe=m["bad_rate"] / m["mean_pd"],
                           score_psi=m.get("score_psi", float("nan")))
                row.update(cutoff_rule=bank_spec.cutoff_rule, max_bad_rate=bank_spec.max_bad_rate or float("nan"),
                           cutoff_pd=o.cutoff,
                           cutoff_score=float(pd_to_score(np.array([o.cutoff]), o.model.scaling)[0])
                           if np.isfinite(o.cutoff) else float("nan"),
                           **o.at_cutoff)
                first = next(((c.name, c.baseline) for c in comparisons
                              if c.variant == variant and (variant, c.baseline) in dt.index), None)
                if first is not None:
                    d = dt.loc[(variant, first[1])]
                    row.update(compared_with=first[1], auc_diff=d["auc_diff"], diff_lo=d["diff_lo"],
                               diff_hi=d["diff_hi"], p_value=d["p_value"])
            row["note"] = o.note
            rows.append(row)
        for c in comparisons:
            row = {"bank": bank, "comparison": c.name, "variant": c.variant, "baseline": c.baseline,
                   "bank_train_loans": len(p["train"]), "test_loans": len(p["test"]),
                   "test_defaults": int(test_y.sum())}
            if (c.variant, c.baseline) in dt.index:
                d = dt.loc[(c.variant, c.baseline)]
                row.update(auc_variant=ci.loc[c.variant, "auc"], auc_baseline=ci.loc[c.baseline, "auc"],
                           auc_diff=d["auc_diff"], diff_lo=d["diff_lo"], diff_hi=d["diff_hi"],
                           diff_se=d["diff_se"], p_value=d["p_value"])
            else:
                why = [f"{v}: {outcomes[(bank, v)].note}" for v in (c.variant, c.baseline)
                       if not outcomes[(bank, v)].ran]
                row["note"] = "; ".join(why)
            diffs.append(row)
    table = pd.DataFrame(rows)
    order = ["bank", "variant", "training", "features", "bank_train_loans", "bank_share_of_pool", "fit_loans",
             "test_loans", "test_defaults", "test_bad_rate", "auc", "auc_lo", "auc_hi", "gini", "ks", "brier",
             "log_loss", "mean_pd", "calibration_oe", "score_psi", "cutoff_rule", "max_bad_rate", "cutoff_pd",
             "cutoff_score", "approval_rate", "approved", "approved_bad_rate", "approved_expected_bad_rate",
             "refused_bad_rate", "compared_with", "auc_diff", "diff_lo", "diff_hi", "p_value", "note"]
    table = table.reindex(columns=order)
    dorder = ["bank", "comparison", "variant", "baseline", "bank_train_loans", "test_loans", "test_defaults",
              "auc_variant", "auc_baseline", "auc_diff", "diff_lo", "diff_hi", "diff_se", "p_value", "note"]
    return table, pd.DataFrame(diffs).reindex(columns=dorder)


# --- files ------------------------------------------------------------------------------------------------------
def _markdown_table(frame: pd.DataFrame, columns: Sequence[str], digits: int = 3) -> str:
    """A Markdown table of `columns` (numbers rounded, missing as a dash)."""
    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            return "-"
        if isinstance(v, float | np.floating):
            return f"{v:.{digits}f}"
        return str(v)

    head = "| " + " | ".join(columns) + " |\n| " + " | ".join("---" for _ in columns) + " |\n"
    return head + "".join("| " + " | ".join(cell(r[c]) for c in columns) + " |\n"
                          for r in frame.to_dict("records"))


def _write(result: JointResult, out: Path) -> dict[str, Path]:
    from techscore.joint.chart import comparison_chart
    from techscore.model.plots import save_png

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    paths = {"out": out}
    spec = result.spec
    paths["comparison.csv"] = out / "comparison.csv"
    result.table.to_csv(paths["comparison.csv"], index=False)
    paths["auc_differences.csv"] = out / "auc_differences.csv"
    result.differences.to_csv(paths["auc_differences.csv"], index=False)
    level = f"{spec.bootstrap.level:.0%}"
    md = [f"# Joint experiment {spec.name}\n", f"{spec.description}\n" if spec.description else "",
          f"Each bank's own test loans (issued from {spec.split.test_from}); {level} intervals from "
          f"{spec.bootstrap.n} paired bootstrap resamples; each variant's cut-off from its own PDs of the test "
          "applicants (NPL rule or approval rate), outcomes observed after.\n",
          "\n## By bank and variant\n\n",
          _markdown_table(result.table, ["bank", "variant", "bank_train_loans", "test_loans", "test_defaults", "auc",
                                        "auc_lo", "auc_hi", "ks", "brier", "calibration_oe", "approval_rate",
                                        "approved_bad_rate", "note"]),
          "\n## AUC differences\n\n",
          _markdown_table(result.differences, ["bank", "comparison", "bank_train_loans", "auc_variant", "auc_baseline",
                                              "auc_diff", "diff_lo", "diff_hi", "p_value", "note"])]
    paths["comparison.md"] = out / "comparison.md"
    paths["comparison.md"].write_text("".join(md), encoding="utf-8")
    paths["comparison.png"] = save_png(comparison_chart(result.table, result.differences, level=level),
                                       out / "comparison.png")
    spec_dir = out / "spec"
    spec_dir.mkdir()
    if spec.path is not None:
        paths["spec"] = Path(shutil.copy(spec.path, spec_dir / "joint.toml"))
    if result.model_spec.path is not None:
        paths["model_spec"] = Path(shutil.copy(result.model_spec.path, spec_dir / "model.toml"))
    return paths


def _child_files(o: Outcome, frame_test: pd.DataFrame, folder: Path, *, log_model: bool, with_plots: bool) -> None:
    """A child run's files: test tables, predictions on the bank's test loans, plots and (own models) the model."""
    from techscore.model import plots
    from techscore.model.training import importance_table

    ev = o.evaluation
    assert ev is not None and o.model is not None
    tables = folder / "tables"
    tables.mkdir(parents=True)
    ev.calibration.to_csv(tables / "calibration_by_grade.csv", index=False)
    ev.lift.to_csv(tables / "lift.csv", index=False)
    if len(ev.segments):
        ev.segments.to_csv(tables / "segments.csv", index=False)
    if ev.psi is not None:
        ev.psi.to_csv(tables / "score_psi.csv", index=False)
    importance_table(o.model).to_csv(tables / "importance.csv", index=False)
    p, y = o.pd["test"], frame_test[LABEL].to_numpy()
    pred = frame_test[["loan_id", "uscc", "issued"]].reset_index(drop=True).assign(
        **{LABEL: y, "pd": p, "score": o.model.score(p), "grade": pd.array(o.model.grade(p), dtype="string"),
           "approved": p <= o.cutoff})
    pred.to_parquet(folder / "predictions.parquet", index=False)
    if with_plots:
        title = f"{o.bank}, {o.variant}, test"
        figs = {"roc": plots.roc_plot({o.variant: (y, p)}, title=f"ROC ({title})"),
                "ks": plots.ks_plot(y, p, title=f"KS ({title})"),
                "calibration": plots.calibration_plot(ev.calibration, title=f"Calibration by grade ({title})")}
        for name, fig in figs.items():
            plots.save_png(fig, folder / "plots" / f"{name}.png")
    if log_model:
        o.model.save(folder / "model")


class _Parent:
    """The parent run in the platform's experiment and the bank's child runs, logged as their owners."""

    def __init__(self, trk, spec: JointSpec, mspec: ModelSpec, ds: LoanDataset) -> None:
        from techscore.joint import runs
        from techscore.model.training import run_params

        self.trk, self.spec = trk, spec
        self.experiment = trk.platform.experiment
        self.params = run_params(spec.experiment_spec(), mspec, ds)
        tags = {"techscore.joint": spec.name, "techscore.joint.role": "parent",
                "techscore.dataset_fingerprint": ds.fingerprint, "techscore.model_spec": mspec.name,
                "techscore.joint.banks": ",".join(spec.banks)}
        params = {**self.params, "joint.variants": ",".join(spec.variants),
                  "joint.comparisons": ",".join(f"{c.name}={c.variant}-{c.baseline}" for c in spec.comparison_list),
                  "joint.bootstrap.n": spec.bootstrap.n, "joint.bootstrap.level": spec.bootstrap.level,
                  "joint.bootstrap.seed": spec.bootstrap.seed, "joint.min_bad": spec.min_bad}
        for bank, b in spec.banks.items():
            params[f"joint.banks.{bank}.cutoff"] = b.cutoff_rule
            params[f"joint.banks.{bank}.features"] = b.features
        with runs.acting_as(trk, trk.platform) as client:
            self.experiment_id = runs.experiment_id(client, trk, trk.platform)
            self.run_id = runs.open_run(client, self.experiment_id, run_name=spec.name, tags=tags, params=params)
        self.url = runs.run_url(trk, self.experiment_id, self.run_id)
        self.children: list[ChildRun] = []

    def log_children(self, bank: str, result: JointResult, out: Path) -> list[ChildRun]:
        """Log `bank`'s child runs (one per variant that ran) into its experiment with its credentials."""
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        from techscore.joint import runs

        trk, spec = self.trk, self.spec
        party = trk.banks[bank]
        rows = result.table.set_index(["bank", "variant"])
        done = []
        with runs.acting_as(trk, party) as client:
            experiment_id = runs.experiment_id(client, trk, party)
            for variant in spec.variants:
                o = result.outcomes[(bank, variant)]
                if not o.ran:
                    continue
                training, features = VARIANTS[variant]
                row = rows.loc[(bank, variant)]
                tags = {"techscore.joint": spec.name, "techscore.joint.role": "child", "techscore.bank": bank,
                        "techscore.variant": variant, "techscore.training": training,
                        "techscore.features": features, "techscore.parent_run": self.run_id,
                        "techscore.parent_experiment": self.experiment,
                        "techscore.dataset_fingerprint": result.dataset.fingerprint,
                        "techscore.model_spec": result.model_spec.name}
                params = {**self.params, "joint.bank": bank, "joint.variant": variant,
                          "joint.training": training, "joint.features": features, "joint.fit_loans": o.fit_rows,
                          "joint.cutoff_rule": row["cutoff_rule"], "features.count": len(o.model.features)}
                if experiment_id == self.experiment_id:
                    tags[MLFLOW_PARENT_RUN_ID] = self.run_id
                run_id = runs.open_run(client, experiment_id, run_name=f"{spec.name}/{variant}", tags=tags,
                                       params=params)
                try:
                    runs.log_metrics(client, run_id, _child_metrics(o, row, result))
                    folder = out / "children" / bank / variant
                    _child_files(o, result.frame.iloc[result.parts[bank]["test"]], folder,
                                 log_model=spec.tracking.log_models and training == "own",
                                 with_plots=spec.tracking.plots)
                    runs.log_folder(client, run_id, folder)
                    client.set_terminated(run_id, "FINISHED")
                except BaseException:
                    client.set_terminated(run_id, "FAILED")
                    raise
                child = ChildRun(bank, variant, party.user, party.experiment, experiment_id, run_id,
                                 runs.run_url(trk, experiment_id, run_id))
                done.append(child)
        self.children.extend(done)
        return done

    def finish(self, result: JointResult, out: Path) -> None:
        """Log the comparison table, chart, links to the children and the pooled models; end the run."""
        from techscore.joint import runs

        trk, spec = self.trk, self.spec
        links = {"parent": {"run_id": self.run_id, "experiment": self.experiment, "url": self.url},
                 "children": [c.__dict__ for c in self.children],
                 "skipped": [{"bank": o.bank, "variant": o.variant, "reason": o.note}
                             for o in result.outcomes.values() if not o.ran]}
        (out / "children.json").write_text(json.dumps(links, indent=2, ensure_ascii=False), encoding="utf-8")
        result.paths["children.json"] = out / "children.json"
        metrics = {}
        for r in result.table.to_dict("records"):
            for k in ("auc", "auc_lo", "auc_hi", "ks", "calibration_oe", "approval_rate", "approved_bad_rate"):
                metrics[f"{k}.{r['bank']}.{r['variant']}"] = r[k]
        for r in result.differences.to_dict("records"):
            for k in ("auc_diff", "diff_lo", "diff_hi"):
                metrics[f"{k}.{r['bank']}.{r['comparison']}"] = r[k]
        with runs.acting_as(trk, trk.platform) as client:
            runs.log_metrics(client, self.run_id, metrics)
            compact = ",".join(f"{c.bank}/{c.variant}={c.run_id}" for c in self.children)
            client.set_tag(self.run_id, "techscore.children", compact[:8000])
            for name in ("comparison.csv", "comparison.md", "auc_differences.csv", "comparison.png",
                         "children.json"):
                client.log_artifact(self.run_id, str(result.paths[name]))
            if (out / "spec").is_dir():
                client.log_artifacts(self.run_id, str(out / "spec"), artifact_path="spec")
            if spec.tracking.log_models:
                for variant in spec.variants:
                    o = next((o for (b, v), o in result.outcomes.items() if v == variant and o.ran), None)
                    if o is not None and VARIANTS[variant][0] == "pooled":
                        folder = o.model.save(out / "models" / variant)  # type: ignore[union-attr]
                        client.log_artifacts(self.run_id, str(folder), artifact_path=f"models/{variant}")
            client.set_terminated(self.run_id, "FINISHED")

    def fail(self, exc: BaseException) -> None:
        from techscore.joint import runs

        try:
            with runs.acting_as(self.trk, self.trk.platform) as client:
                client.set_tag(self.run_id, "techscore.error", f"{type(exc).__name__}: {exc}"[:5000])
                client.set_terminated(self.run_id, "FAILED")
        except Exception:  # noqa: BLE001 - the original error matters more than a failed status update
            pass


def _child_metrics(o: Outcome, row: pd.Series, result: JointResult) -> dict[str, float]:
    """The training pipeline's metric names (test_*, valid_*, train_* on the bank's loans), the AUC interval,
    the cut-off outcomes and the AUC differences where this variant is compared."""
    from techscore.model import metrics as M

    ev = o.evaluation
    assert ev is not None
    out = {f"test_{k}": v for k, v in ev.metrics.items()}
    bank = o.bank
    labels = result.frame[LABEL].to_numpy()
    parts = result.parts[bank]
    for part in ("train", "valid"):
        if part in o.pd and len(parts[part]):
            out.update({f"{part}_{k}": v for k, v in M.summary(labels[parts[part]], o.pd[part]).items()})
    out.update(test_auc_lo=row["auc_lo"], test_auc_hi=row["auc_hi"], test_calibration_oe=row["calibration_oe"],
               cutoff_pd=o.cutoff, cutoff_score=row["cutoff_score"], max_bad_rate=row["max_bad_rate"],
               **{k: v for k, v in o.at_cutoff.items()})
    seg = ev.segments
    if len(seg):
        for r in seg.itertuples():
            out[f"test_auc.{r.segment}.{r.value}"] = r.auc
    d = result.differences
    for r in d[(d["bank"] == bank) & (d["variant"] == o.variant)].to_dict("records"):
        out.update({f"auc_diff.{r['comparison']}": r["auc_diff"], f"auc_diff_lo.{r['comparison']}": r["diff_lo"],
                    f"auc_diff_hi.{r['comparison']}": r["diff_hi"]})
    return out
