"""The joint-modelling experiment: on each bank's own out-of-time test loans, compare its own model with the model
pooled over the banks, on the platform's features alone and with the bank's own features.

What runs
---------
For a spec (`techscore.joint.spec`) with banks B1..Bk and variants among ``own``, ``pooled``, ``own_bank``,
``pooled_bank``:

1. the loan dataset is built point in time (`techscore.dataset.load_dataset`, cached by fingerprint) and each
   loan gets its lending bank's relationship features (the catalogue's `bank` group, `features/bank.py`, as of the first day
   of the issue month like every feature; missing for banks that
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

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.dataset.frame import LABEL, LoanDataset
from techscore.joint.fitting import Outcome, evaluate_outcome, fit_and_score, segments_of, with_bank_features
from techscore.joint.spec import VARIANTS, JointSpec, load_joint
from techscore.joint.tables import comparison_tables, write_files
from techscore.joint.tracking import JointCallback, JointEnv
from techscore.model.events import emit
from techscore.progress import Progress
from techscore.specs import ModelSpec

__all__ = ["ChildRun", "JointResult", "Outcome", "run_joint"]

SUMMARY_COLUMNS = ("bank", "variant", "auc", "auc_lo", "auc_hi", "ks", "calibration_oe", "approval_rate",
                   "approved_bad_rate")


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
    callbacks: Sequence[JointCallback] = (),
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
    callbacks : called with a `JointEnv` at `start`, `end` and `failed`, after the tracking callback opens the
        parent run and before it logs (as training's callbacks are).
    """
    from techscore.dataset.experiment import load_dataset
    from techscore.joint import runs
    from techscore.joint.tracking import joint_tracking

    spec = experiment if isinstance(experiment, JointSpec) else load_joint(experiment, workspace=workspace)
    mspec = spec.model_spec()
    trk = runs.resolve_tracking(spec, tracking_uri=tracking_uri, credentials=credentials) if tracking else None
    ds = dataset if dataset is not None else load_dataset(spec.experiment_spec(), progress=progress)
    frame, all_features = with_bank_features(spec, ds)
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
    tracker = [joint_tracking(trk, progress=step)] if trk is not None else []
    others = list(callbacks or [])
    first, last = [*tracker, *others], [*others, *tracker]  # the tracker opens first and logs last
    emit(first, JointEnv("start", result, out_dir))
    try:
        outcomes = fit_and_score(spec, mspec, ds, frame, y, fold, parts, feature_sets, step)
        result.outcomes = outcomes
        segments = segments_of(spec, ds)
        for (bank, _), o in outcomes.items():
            if o.model is not None:
                evaluate_outcome(o, spec, mspec, frame, y, parts[bank], segments)
        result.table, result.differences = comparison_tables(spec, outcomes, y, parts, fold)
        result.paths = write_files(result, out_dir)
        emit(last, JointEnv("end", result, out_dir))
    except BaseException as exc:
        emit(last, JointEnv("failed", result, out_dir, error=exc))
        raise
    return result


class _Stepper:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, what: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total, what)
