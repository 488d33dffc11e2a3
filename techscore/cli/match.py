"""`techscore match`: private matching of firm codes between two parties (ECDH private set intersection).

One machine (a simulation of both parties)::

    techscore match --ids A.csv --peer-ids B.csv --out shared.csv

Two organisations exchanging files (A learns the shared codes, B learns only how many codes A sent)::

    A: techscore match round1 --ids A.csv --out round1.psi --state a.state      # send round1.psi to B
    B: techscore match round2 --ids B.csv --in round1.psi --out round2.psi     # send round2.psi back to A
    A: techscore match finish --state a.state --in round2.psi --out shared.csv

Both steps that read a peer's message refuse more than ``--max-peer-size`` of the peer's codes (2,000,000 unless
given), checked from the file's header and size before its values are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from techscore.cli._common import JsonFlag, cli_errors, console, err_console

DEFAULT_MAX_PEER_SIZE = 2_000_000
"""`techscore.joint.psi.DEFAULT_MAX_PEER_SIZE` (not imported here: the CLI loads the curve code only when used)."""

Ids = Annotated[Path, typer.Option("--ids", help="Your codes: CSV with a header row and a code column.")]
Column = Annotated[str, typer.Option("--column", help="Name of the code column.")]
SkipInvalid = Annotated[
    bool, typer.Option("--skip-invalid", help="Drop invalid codes (listed) instead of stopping at them.")
]
Workers = Annotated[
    int | None, typer.Option("--workers", min=1, help="Processes for the curve arithmetic (default: 2 on large sets).")
]
StateOpt = Annotated[Path, typer.Option("--state", help="Your private state file (key and codes; keep it secret).")]
MaxPeerSize = Annotated[
    int,
    typer.Option("--max-peer-size", min=1, help="Refuse a peer that sends more codes than this (agree it beforehand)."),
]


def _read(path: Path, column: str, skip_invalid: bool):
    from techscore.joint.psi import read_codes

    codes = read_codes(path, column=column, skip_invalid=skip_invalid)
    for line, value in codes.invalid[:5]:
        err_console.print(f"[yellow]skipped[/] {codes.source} line {line}: invalid code {value!r}")
    if len(codes.invalid) > 5:
        err_console.print(f"[yellow]skipped[/] {len(codes.invalid) - 5} more invalid codes in {codes.source}")
    return codes


def _summary(info: dict, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(info))
        return
    for key, value in info.items():
        console.print(f"{key:>16}: {value}")


def _counts(codes) -> dict:
    return {"rows": codes.n_rows, "codes": len(codes.codes), "duplicates": codes.duplicates, "invalid": len(codes.invalid)}


def register(app: typer.Typer) -> None:
    match_app = typer.Typer(
        help="Match firm codes with a peer without revealing the codes you do not share (ECDH-PSI).",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @match_app.callback()
    def simulate(
        ctx: typer.Context,
        ids: Annotated[Path | None, typer.Option("--ids", help="Party A's codes (CSV).")] = None,
        peer_ids: Annotated[Path | None, typer.Option("--peer-ids", help="Party B's codes (CSV).")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="Shared codes (CSV, column uscc).")] = None,
        column: Column = "uscc",
        skip_invalid: SkipInvalid = False,
        workers: Workers = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Run both parties here (a local simulation), or use the round1 / round2 / finish steps across parties."""
        if ctx.invoked_subcommand is not None:
            return
        if ids is None or peer_ids is None or out is None:
            err_console.print(ctx.get_help())
            err_console.print("[bold red]error:[/] give --ids, --peer-ids and --out, or a step: round1, round2, finish.")
            raise typer.Exit(code=2)
        from techscore.joint.psi import intersect, write_shared

        with cli_errors():
            a, b = _read(ids, column, skip_invalid), _read(peer_ids, column, skip_invalid)
            with console.status("matching privately..."):
                shared = intersect(a, b, workers=workers)
            write_shared(shared, out)
            _summary({"party A": _counts(a), "party B": _counts(b), "shared": len(shared), "out": str(out)}, as_json)

    @match_app.command("round1")
    def round1(
        ids: Ids,
        out: Annotated[Path, typer.Option("--out", help="Message file to send to the peer.")],
        state: StateOpt,
        column: Column = "uscc",
        skip_invalid: SkipInvalid = False,
        workers: Workers = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Party A, step 1: blind your codes; send the message, keep the state."""
        from techscore.joint import psi

        with cli_errors():
            codes = _read(ids, column, skip_invalid)
            with console.status("blinding codes..."):
                st, message = psi.round1(codes, workers=workers)
            psi.write_state(st, state)
            psi.write_message(message, out)
            _summary({**_counts(codes), "session": st.session, "message": str(out), "state": str(state)}, as_json)

    @match_app.command("round2")
    def round2(
        ids: Ids,
        message: Annotated[Path, typer.Option("--in", help="The peer's round1 message.")],
        out: Annotated[Path, typer.Option("--out", help="Reply message to send back to the peer.")],
        column: Column = "uscc",
        skip_invalid: SkipInvalid = False,
        max_peer_size: MaxPeerSize = DEFAULT_MAX_PEER_SIZE,
        workers: Workers = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Party B: answer A's message with A's values re-blinded and your own codes blinded."""
        from techscore.joint import psi

        with cli_errors():
            codes = _read(ids, column, skip_invalid)
            incoming = psi.read_message(message, kind="round1", max_values=max_peer_size)
            with console.status("blinding codes..."):
                reply = psi.round2(incoming, codes, max_peer_size=max_peer_size, workers=workers)
            psi.write_message(reply, out)
            _summary({**_counts(codes), "peer codes": incoming.n_blinded, "session": reply.session, "reply": str(out)}, as_json)

    @match_app.command("finish")
    def finish(
        state: StateOpt,
        message: Annotated[Path, typer.Option("--in", help="The peer's round2 reply.")],
        out: Annotated[Path, typer.Option("--out", help="Shared codes (CSV, column uscc).")],
        max_peer_size: MaxPeerSize = DEFAULT_MAX_PEER_SIZE,
        workers: Workers = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Party A, step 2: the codes you share with the peer (whose own codes must not exceed --max-peer-size)."""
        from techscore.joint import psi

        with cli_errors():
            st = psi.read_state(state)
            reply = psi.read_message(message, kind="round2", max_values=len(st.codes) + max_peer_size)
            with console.status("matching..."):
                shared = psi.finish(st, reply, max_peer_size=max_peer_size, workers=workers)
            psi.write_shared(shared, out)
            _summary({"codes": len(st.codes), "peer codes": reply.n_peer_blinded, "shared": len(shared), "out": str(out)}, as_json)

    app.add_typer(match_app, name="match")
