"""`techscore policy`: the cut-off table of a scored book under the policy tools of `features/config/policy.toml`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, cli_errors, console
from techscore.cli.dataset import Workspace


def register(app: typer.Typer) -> None:
    @app.command("policy")
    def policy(
        spec: Annotated[Path | None, typer.Argument(
            help="Policy table (TOML; default: the workspace's features/config/policy.toml).")] = None,
        scores: Annotated[Path, typer.Option("--scores", help="Scores file of `techscore score` (uscc, pd).")] = Path(
            "demo-output/scores.parquet"),
        features: Annotated[Path | None, typer.Option(
            "--features", help="Feature table (uscc, ...) to take the amount or first-loan column from.")] = None,
        amount_column: Annotated[str | None, typer.Option(
            "--amount-column", help="Loan amount column (default: every loan is [bank] default_amount).")] = None,
        first_loan_column: Annotated[str | None, typer.Option(
            "--first-loan-column", help="First-time borrower flag (1/true), e.g. profile_first_loan.")] = None,
        out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("policy-output"),
        workspace: Workspace = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Cut-off table (approval rate, expected bad rate, loss and margin) under each policy tool; writes
        policy_cutoffs.csv and policy_summary.csv."""
        from rich.table import Table

        from techscore.policy import cutoff_table, load_book, load_policy, policy_summary

        with cli_errors():
            terms = load_policy(spec, workspace=workspace)
            book = load_book(scores, amount_column=amount_column, first_loan_column=first_loan_column,
                             features=features, default_amount=terms.bank.default_amount)
            table, summary = cutoff_table(book, terms), policy_summary(book, terms)
            out.mkdir(parents=True, exist_ok=True)
            table.to_csv(out / "policy_cutoffs.csv", index=False)
            summary.to_csv(out / "policy_summary.csv", index=False)
            if as_json:
                console.print_json(json.dumps({"book": len(book), "first_loans": int(book["first_loan"].sum()),
                                               "bad_rate_limit": terms.bank.bad_rate_limit,
                                               "scenarios": summary.to_dict(orient="records")}))
                return
            view = Table(title=f"{len(book):,} firms, {int(book['first_loan'].sum()):,} first-time borrowers; "
                               f"bad-rate limit {terms.bank.bad_rate_limit:.2%} (NPL {terms.bank.npl_ratio:.2%} + "
                               f"{terms.bank.npl_tolerance:.2%}); best = highest expected margin within it; "
                               f"loss and margin in million yuan")
            for col in ("scenario", "best PD cut-off", "approved", "first loans", "bad rate", "loss M", "margin M",
                        "same-loss approved", "extra", "extra first"):
                view.add_column(col, justify="left" if col == "scenario" else "right")
            for r in summary.itertuples():
                view.add_row(r.scenario, f"{r.best_pd_cutoff:.2%}", f"{r.best_approved:,}", f"{r.best_first_loans:,}",
                             f"{r.best_bad_rate:.2%}", f"{r.best_expected_loss / 1e6:,.1f}",
                             f"{r.best_margin / 1e6:,.1f}", f"{r.same_loss_approved:,}", f"{r.extra_firms:+,}",
                             f"{r.extra_first_loans:+,}")
            console.print(view)
            console.print(f"wrote {out / 'policy_cutoffs.csv'} and {out / 'policy_summary.csv'}")
