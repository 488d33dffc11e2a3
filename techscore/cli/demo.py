"""`techscore demo`: the main job on the embedded default, end to end.

synthetic world -> validation -> point-in-time dataset -> LightGBM PD model (tracked, registered) -> champion ->
model and firm reports -> batch scores with reason codes -> policy cut-offs under the policy tools -> one firm
scored through the online service. Each step is the same library call the matching
command makes; the demo only chains them and prints where everything went.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import TrackingUri, cli_errors, console

DEMO_EXPERIMENT = "experiments/demo.toml"
DEMO_FIRMS = 30_000
"""Firms in the demo's world: about 48,000 loans, 1,400 defaults (800 of them in training), enough for the model to
tell the planted drivers from the noise columns (tests/model/test_planted_drivers.py)."""
DEMO_SEED = 42


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        firms: Annotated[int, typer.Option("--firms", min=500, help="Firms in the synthetic world.")] = DEMO_FIRMS,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic world.")] = DEMO_SEED,
        out: Annotated[Path, typer.Option("--out", help="Output folder (the demo experiment reads its world here).")] = Path("demo-output"),
        as_of: Annotated[str, typer.Option("--as-of", help="Date the portfolio is scored as of.")] = "2026-01-01",
        tracking_uri: TrackingUri = None,
    ) -> None:
        """Run the whole path on a synthetic tech-SME world: synth, validate, train, report, score, policy cut-offs,
        and one firm scored through the online service."""
        import pandas as pd

        from techscore.exceptions import ValidationError
        from techscore.explain.summary import explain_callback
        from techscore.model.registry import promote
        from techscore.model.training import train
        from techscore.scoring import score_file
        from techscore.sources.rejects import write_report
        from techscore.sources.validation import validate
        from techscore.specs import load_experiment
        from techscore.synth import generate
        from techscore.workspace import default_mlflow_uri

        with cli_errors():
            spec = load_experiment(DEMO_EXPERIMENT)
            world = spec.workspace / spec.data.path
            out = out if out.is_absolute() else spec.workspace / out
            uri = tracking_uri or default_mlflow_uri(spec.workspace)

            with console.status("1/8 generating the synthetic world"):
                synth = generate(firms, seed, world)
            console.print(f"[green]1/8[/] world: {synth.total_rows:,} rows over 7 tables in {world} "
                          f"(12-month loan default rate {synth.default_rate_12m:.2%})")

            with console.status("2/8 validating the raw tables"):
                checked = validate(world)
                write_report(checked, out / "validation_report.json")
            if not checked.ok:
                raise ValidationError(f"{world}: the synthetic world failed validation ({checked.n_errors} errors); "
                                      f"see {out / 'validation_report.json'}.")
            console.print(f"[green]2/8[/] validation: {int(checked.counts['input'].sum()):,} rows, "
                          f"0 errors, {checked.n_warnings} warnings")

            with console.status("3/8 building the dataset and training the PD model (a few minutes)"):
                result = train(spec, tracking_uri=uri, callbacks=[explain_callback(tracking_uri=uri)])
            m = result.metrics
            console.print(f"[green]3/8[/] model: out-of-time test AUC {m['test_auc']:.3f}, KS {m['test_ks']:.3f}, "
                          f"Gini {m['test_gini']:.3f}; challenger scorecard AUC {m.get('challenger_test_auc', float('nan')):.3f}; "
                          f"MLflow run {result.run_id}")
            from techscore.reports.oracle import oracle_report, oracle_summary
            console.print(f"      {oracle_summary(oracle_report(result.predictions, world))}")
            promote(result.registered_model, result.model_version, tracking_uri=uri)
            champion = f"models:/{result.registered_model}@champion"
            console.print(f"[green]4/8[/] registered {result.registered_model} v{result.model_version} as champion")

            reports = _reports(result, out, uri)
            console.print("[green]5/8[/] reports: " + ", ".join(str(p) for p in reports))

            with console.status("6/8 scoring the portfolio"):
                from techscore.model.pdmodel import PDModel
                from techscore.scoring.raw import featurize_table

                model = PDModel.from_mlflow(champion, tracking_uri=uri)
                table = featurize_table(world, as_of, model, out / f"features_{as_of}.parquet",
                                        workspace=spec.workspace)
                summary = score_file(model, table, out / "scores.parquet", reasons=5, keep=("as_of",))
            scores = pd.read_parquet(summary.output)
            console.print(f"[green]6/8[/] scores: input {summary.input:,} = scored {summary.scored:,} + "
                          f"rejected {summary.rejected:,} -> {summary.output}")
            console.print(scores["grade"].value_counts().sort_index().to_frame("firms").T.to_string())

            with console.status("7/8 cut-offs under the policy tools"):
                from techscore.policy import BASELINE, cutoff_table, load_book, load_policy, policy_summary

                terms = load_policy(None, workspace=spec.workspace)
                book = load_book(summary.output, features=table, first_loan_column="profile_first_loan",
                                 default_amount=terms.bank.default_amount)
                (out / "policy").mkdir(parents=True, exist_ok=True)
                cutoff_table(book, terms).to_csv(out / "policy" / "policy_cutoffs.csv", index=False)
                policy = policy_summary(book, terms)
                policy.to_csv(out / "policy" / "policy_summary.csv", index=False)
            alone = policy.set_index("scenario").loc[BASELINE]
            tools = "; ".join(f"{r.scenario} +{r.extra_firms:,}" for r in policy.itertuples() if r.scenario != BASELINE)
            console.print(f"[green]7/8[/] policy: the bank alone approves {int(alone.best_approved):,} firms (PD <= "
                          f"{alone.best_pd_cutoff:.2%}); at the same expected loss {tools} -> {out / 'policy'}")
            with console.status("8/8 starting the scoring service and scoring one firm through it"):
                base, answer, batch_pd = _serve_one_firm(champion, uri, out, table, pd.read_parquet(summary.output))
            first = answer["results"][0]
            same = "the same pd as scores.parquet" if first["pd"] == batch_pd else f"scores.parquet has {batch_pd!r}"
            console.print(f"[green]8/8[/] service: POST {base}/v1/score (a throwaway key, then stopped) -> "
                          f"{first['uscc']}: pd {first['pd']:.2%}, score {first['score']:.0f}, grade {first['grade']}, "
                          f"model {answer['model']['name']} v{answer['model']['version']} ({same}); decision recorded "
                          f"in {out / 'serve' / 'audit.sqlite'}", soft_wrap=True)
            for reason in first["reasons"]:
                console.print(f"      {reason['text_en']} / {reason['text_zh']}", soft_wrap=True)
            (out / "demo_summary.json").write_text(json.dumps({
                "world": str(world), "run_id": result.run_id, "model": champion,
                "test_auc": m["test_auc"], "scores": summary.as_dict(), "reports": [str(p) for p in reports],
                "service": {"request_id": answer["request_id"], "model": answer["model"], "result": first},
            }, indent=2), encoding="utf-8")
            console.print(f"MLflow UI: mlflow ui --backend-store-uri {uri}")


def _serve_one_firm(champion: str, uri: str, out: Path, features, scores) -> tuple[str, dict, float]:
    """Start `techscore serve`'s app on uvicorn on a free loopback port with a throwaway API key, score the riskiest
    scored firm through `POST /v1/score`, stop it: (base URL, the answer, the firm's pd in the batch scores)."""
    import tempfile
    import urllib.request

    import pandas as pd

    from techscore.serve import ServiceConfig, create_app
    from techscore.serve.background import json_records, running_service
    from techscore.serve.keys import KeyStore

    firm = scores.sort_values("pd", ascending=False).iloc[0]
    frame = pd.read_parquet(features)
    record = json_records(frame[frame["uscc"].astype(str) == str(firm["uscc"])].head(1))[0]
    with tempfile.TemporaryDirectory(prefix="techscore-demo-keys-") as keys_dir:
        store = KeyStore(Path(keys_dir) / "keys.sqlite")
        _, token = store.add("DEMO_BANK", rate=10)
        store.close()
        config = ServiceConfig(model=champion, audit=out / "serve" / "audit.sqlite", tracking_uri=uri,
                               keys=Path(keys_dir) / "keys.sqlite", reasons=3)
        with running_service(create_app(config)) as base:
            request = urllib.request.Request(
                f"{base}/v1/score", data=json.dumps({"records": [record], "bank": "DEMO_BANK"}).encode("utf-8"),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(response.read())
    return base, answer, float(firm["pd"])


def _reports(result, out: Path, uri: str) -> list[Path]:
    """The model report and firm reports of the three riskiest test firms (PDFs too where Chromium is installed)."""
    from techscore.reports.chromium import find_chromium
    from techscore.reports.firm_report import build_firm_report
    from techscore.reports.model_report import build_model_report

    pdf = find_chromium() is not None
    folder = out / "reports"
    with console.status("5/8 writing the model report and firm reports"):
        model = build_model_report(result.run_id, out=folder, tracking_uri=uri, pdf=pdf)
        riskiest = result.predictions.sort_values("pd", ascending=False)["uscc"].drop_duplicates().head(3)
        firms = build_firm_report(result.run_id, usccs=list(riskiest), out=folder, tracking_uri=uri, pdf=pdf)
    return [*model.values(), *firms.values()]
