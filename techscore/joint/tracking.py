"""Logging a joint experiment, as a callback like training's (`techscore.model.events`): the parent run in the
platform's experiment, each bank's child runs in its own experiment with its own credentials, linked by tags.

`joint_tracking(trk)` returns a callback taking a `JointEnv`; `run_joint` emits `start` (specs and data known),
`end` (tables and files written) and `failed`, and never branches on whether tracking is on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from techscore.dataset.frame import LABEL
from techscore.joint.fitting import Outcome
from techscore.joint.spec import VARIANTS, JointSpec
from techscore.joint.tables import child_files

if TYPE_CHECKING:
    from techscore.joint.experiment import ChildRun, JointResult

__all__ = ["JointCallback", "JointEnv", "joint_tracking"]


@dataclass
class JointEnv:
    """What a joint callback sees: the stage, the result so far, the output folder and, at `failed`, the error."""

    stage: Literal["start", "end", "failed"]
    result: JointResult
    out: Path
    error: BaseException | None = None


JointCallback = Callable[[JointEnv], None]


def joint_tracking(trk, *, progress: Callable[[str], None] | None = None) -> JointCallback:
    """The MLflow callback of a joint experiment: opens the parent at `start`, logs every bank's children and then
    the parent's tables at `end` (calling `progress(what)` after each), marks the parent failed at `failed`."""
    state: dict[str, _Parent] = {}

    def callback(env: JointEnv) -> None:
        r = env.result
        if env.stage == "start":
            state["parent"] = _Parent(trk, r.spec, r.model_spec, r.dataset)
            return
        parent = state.get("parent")
        if parent is None:
            return
        if env.stage == "failed":
            parent.fail(env.error)  # type: ignore[arg-type]
            return
        r.tracking_uri = trk.uri
        for bank in r.spec.banks:
            r.children.extend(parent.log_children(bank, r, env.out))
            if progress is not None:
                progress(f"logged {bank}'s runs")
        parent.finish(r, env.out)
        r.parent_run_id, r.parent_experiment, r.parent_url = parent.run_id, parent.experiment, parent.url
        if progress is not None:
            progress("logged the parent run")

    return callback


class _Parent:
    """The parent run in the platform's experiment and the bank's child runs, logged as their owners."""

    def __init__(self, trk, spec: JointSpec, mspec, ds) -> None:
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
                    metrics = _child_metrics(o, row, result)
                    runs.log_metrics(client, run_id, metrics)
                    folder = out / "children" / bank / variant
                    child_files(o, result.frame.iloc[result.parts[bank]["test"]], folder,
                                log_model=spec.tracking.log_models and training == "own",
                                with_plots=spec.tracking.plots)
                    _run_artifacts(folder, o, metrics, result)
                    runs.log_folder(client, run_id, folder)
                    client.set_terminated(run_id, "FINISHED")
                except BaseException:
                    client.set_terminated(run_id, "FAILED")
                    raise
                from techscore.joint.experiment import ChildRun

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


def _run_artifacts(folder: Path, o: Outcome, metrics: dict[str, float], result: JointResult) -> None:
    """The child's metrics and split membership as training writes them (`techscore.model.artifacts`), so one
    reader, `RunArtifacts.load(folder)`, reads a joint child as it reads a training run."""
    from techscore.model.artifacts import MEMBERSHIP_FILE, METRICS_FILE, json_ready, membership_table

    report = {"experiment": result.spec.name, "split": "oot", "model_spec": result.model_spec.name,
              "dataset_fingerprint": result.dataset.fingerprint, "rows": len(result.parts[o.bank]["test"]),
              "bank": o.bank, "variant": o.variant, "champion": {"test": o.evaluation.metrics},  # type: ignore[union-attr]
              "metrics": metrics}
    (folder / METRICS_FILE).write_text(json.dumps(json_ready(report), indent=2, ensure_ascii=False), encoding="utf-8")
    membership_table(result.frame, result.parts[o.bank]).to_parquet(folder / MEMBERSHIP_FILE, index=False)


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
