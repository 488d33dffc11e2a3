"""`techscore train`, `techscore tune` and `techscore promote`: a thin shell over `techscore.model`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, TrackingUri, cli_errors, console

ExperimentArg = Annotated[Path, typer.Argument(help="Experiment spec (TOML), e.g. experiments/demo.toml.")]
Workspace = Annotated[
    Path | None, typer.Option("--workspace", help="Workspace holding models/ and experiments/ (default: found upwards).")
]
HEADLINE = ("auc", "gini", "ks", "brier", "log_loss", "score_psi")


def _summary_table(result) -> object:
    from rich.table import Table

    m = result.metrics
    cv = result.experiment is not None and result.experiment.split.kind == "cv"
    table = Table(title=f"{result.experiment.name if result.experiment else 'train'}: "
                        f"{'out-of-fold' if cv else 'out-of-time test'} metrics")
    table.add_column("metric")
    table.add_column("champion (LightGBM)", justify="right")
    has_challenger = any(k.startswith("challenger_test_") for k in m)
    if has_challenger:
        table.add_column("challenger (WOE scorecard)", justify="right")
    for name in HEADLINE:
        if f"test_{name}" not in m:
            continue
        row = [name, f"{m[f'test_{name}']:.4f}"]
        if has_challenger:
            v = m.get(f"challenger_test_{name}")
            row.append("" if v is None else f"{v:.4f}")
        table.add_row(*row)
    if cv:
        table.add_row("CV AUC (mean +- sd)", f"{m['cv_auc_mean']:.4f} +- {m['cv_auc_std']:.4f}",
                      *([f"{m['cv_challenger_auc_mean']:.4f} +- {m['cv_challenger_auc_std']:.4f}"]
                        if has_challenger and "cv_challenger_auc_mean" in m else []))
    return table


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        experiment: ExperimentArg,
        model: Annotated[Path | None, typer.Option("--model", help="Model spec to use instead of the experiment's.")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="Folder for artifacts [mlruns/outputs/NAME].")] = None,
        tracking_uri: TrackingUri = None,
        no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log to MLflow.")] = False,
        no_register: Annotated[bool, typer.Option("--no-register", help="Do not register the model.")] = False,
        workspace: Workspace = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Train, calibrate and validate the experiment's PD model; log and register it in MLflow."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from techscore.dataset.experiment import load_dataset
        from techscore.explain.summary import explain_callback
        from techscore.model.training import train
        from techscore.specs import load_experiment

        with cli_errors():
            spec = load_experiment(experiment, workspace=workspace)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=True, disable=as_json) as bar:
                task = bar.add_task("loading data", total=None)

                def data_progress(done: int, total: int, what: str) -> None:
                    bar.update(task, completed=done, total=total, description=what)

                dataset = load_dataset(spec, progress=data_progress)
                bar.update(task, completed=0, total=None, description="fitting")

                def progress(done: int, total: int, what: str) -> None:
                    bar.update(task, completed=done, total=total, description=f"fitted {what}")

                result = train(spec, model_spec=model, dataset=dataset, tracking=not no_tracking,
                               tracking_uri=tracking_uri, register=not no_register, out=out, progress=progress,
                               callbacks=[explain_callback(tracking_uri=tracking_uri)])
            if as_json:
                typer.echo(json.dumps({
                    "run_id": result.run_id, "model_uri": result.model_uri, "registered_model": result.registered_model,
                    "version": result.model_version, "out": str(result.paths.get("out")),
                    "metrics": {k: v for k, v in result.metrics.items() if "." not in k},
                }, default=str))
                return
            console.print(_summary_table(result))
            console.print(f"artifacts: {result.paths['out']}")
            if result.run_id:
                console.print(f"MLflow run {result.run_id}" + (
                    f"; registered [bold]{result.registered_model}[/] version {result.model_version} "
                    f"(alias challenger)" if result.model_version else ""))

    @app.command("tune")
    def tune_cmd(
        experiment: ExperimentArg,
        trials: Annotated[int | None, typer.Option("--trials", help="Number of (more) trials to run.")] = None,
        timeout: Annotated[float | None, typer.Option("--timeout", help="Stop starting trials after S seconds.")] = None,
        pruner: Annotated[str, typer.Option("--pruner", help="median, hyperband or none.")] = "median",
        storage: Annotated[str | None, typer.Option("--storage", help="Optuna storage URL [mlruns/optuna.db].")] = None,
        study: Annotated[str | None, typer.Option("--study", help="Study name [EXPERIMENT-MODELSPEC].")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="Where to write the tuned model spec.")] = None,
        seed: Annotated[int | None, typer.Option("--seed", help="TPE seed [model spec seed].")] = None,
        tracking_uri: TrackingUri = None,
        no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log trials to MLflow.")] = False,
        workspace: Workspace = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Tune LightGBM with Optuna (resumes the experiment's study); write models/<spec>_tuned.toml."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from techscore.exceptions import SpecError
        from techscore.model.tuning import tune

        with cli_errors():
            if trials is None and timeout is None:
                raise SpecError("give --trials N or --timeout SECONDS.")
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=True, disable=as_json) as bar:
                task = bar.add_task("trials", total=trials)

                def on_trial(st, trial) -> None:
                    best = st.best_value if any(t.value is not None for t in st.trials) else float("nan")
                    bar.update(task, advance=1, description=f"trial {trial.number} {trial.state.name.lower()}; "
                                                            f"best {best:.4f}")

                res = tune(experiment, trials=trials, timeout=timeout, workspace=workspace, storage=storage,
                           name=study, pruner=pruner, seed=seed, tracking=not no_tracking, tracking_uri=tracking_uri,
                           out_spec=out, callbacks=[on_trial])
            if as_json:
                typer.echo(json.dumps({"study": res.study.study_name, "trials": res.trials, "best_value": res.best_value,
                                       "objective": res.objective, "best_params": res.best_params,
                                       "spec": str(res.spec_path), "parent_run_id": res.parent_run_id,
                                       "run_dir": str(res.run_dir)}, default=str))
                return
            console.print(f"study [bold]{res.study.study_name}[/]: {res.trials} trials; best {res.objective} "
                          f"{res.best_value:.4f}")
            console.print(f"tuned model spec written to {res.spec_path}")
            console.print(f"best trial's run (artifact set) written to {res.run_dir}")

    @app.command("promote")
    def promote_cmd(
        name: Annotated[str, typer.Argument(help="Registered model name.")],
        version: Annotated[str, typer.Argument(help="Version to promote.")],
        alias: Annotated[str, typer.Option("--alias", help="Alias to set.")] = "champion",
        tracking_uri: TrackingUri = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Point the registered model's alias (default champion) at VERSION."""
        from techscore.model.registry import promote

        with cli_errors():
            mv = promote(name, version, alias=alias, tracking_uri=tracking_uri)
            if as_json:
                typer.echo(json.dumps({"name": name, "version": mv.version, "aliases": list(mv.aliases)}))
                return
            console.print(f"{name} version {mv.version} is now '{alias}' (aliases: {', '.join(mv.aliases)})")
