"""Private set intersection: correct, private, and safe against malformed messages."""

from __future__ import annotations

import json
import os
import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from techscore.exceptions import ValidationError
from techscore.joint import psi
from techscore.joint.psi import (
    _P,
    _blind_chunk,
    finish,
    hash_to_curve,
    intersect,
    prepare_codes,
    read_codes,
    read_message,
    read_state,
    round1,
    round2,
    write_message,
    write_state,
)

_A = 486662


def _on_curve(u_bytes: bytes) -> bool:
    """Independent check (Euler's criterion with Python's pow) that u is a point of Curve25519, not its twist."""
    u = int.from_bytes(u_bytes, "little")
    return u < _P and pow((u**3 + _A * u * u + u) % _P, (_P - 1) // 2, _P) == 1


def _values(blob: bytes) -> set[bytes]:
    return {blob[i : i + 32] for i in range(0, len(blob), 32)}


def _write_csv(path, codes, header="uscc"):
    path.write_text(header + "\n" + "".join(f"{c}\n" for c in codes), encoding="utf-8")
    return path


# -- the group --------------------------------------------------------------------------------------------------


def test_hash_to_curve_is_deterministic_distinct_and_on_the_curve_not_the_twist(make_codes):
    codes = make_codes(range(300))
    points = [hash_to_curve(c) for c in codes]
    assert points == [hash_to_curve(c) for c in codes]
    assert len(set(points)) == len(codes)
    assert all(len(p) == 32 and _on_curve(p) for p in points)
    # half of all 32-byte strings lie on the twist: the map must have rejected some first tries
    raw = [int.from_bytes(__import__("hashlib").sha512(c.encode()).digest(), "little") % _P for c in codes]
    assert sum(pow((u**3 + _A * u * u + u) % _P, (_P - 1) // 2, _P) != 1 for u in raw) > 100


def test_fast_legendre_matches_eulers_criterion():
    for _ in range(200):
        v = secrets.randbelow(_P)
        assert psi._is_square(v) == (pow(v, (_P - 1) // 2, _P) == 1)


def test_x25519_blinding_commutes_and_stays_on_the_curve(make_codes):
    for code in make_codes(range(40)):
        a, b = secrets.token_bytes(32), secrets.token_bytes(32)
        u = hash_to_curve(code)
        ab = _blind_chunk(a, _blind_chunk(b, u))
        assert ab == _blind_chunk(b, _blind_chunk(a, u))
        assert _on_curve(_blind_chunk(a, u)) and _on_curve(ab)


def test_small_order_input_is_refused_not_blinded():
    with pytest.raises(ValidationError, match="small order"):
        _blind_chunk(secrets.token_bytes(32), bytes(32))


# -- correctness -------------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    a=st.sets(st.integers(0, 400), max_size=40),
    b=st.sets(st.integers(0, 400), max_size=40),
)
def test_result_equals_the_plain_intersection(make_codes, a, b):
    codes_a, codes_b = make_codes(sorted(a)), make_codes(sorted(b))
    assert intersect(codes_a, codes_b) == sorted(set(codes_a) & set(codes_b))


def test_two_processes_give_the_same_result_as_one(make_codes):
    a, b = make_codes(range(0, 1500)), make_codes(range(1000, 2200))
    assert intersect(a, b, workers=2) == intersect(a, b, workers=1) == sorted(set(a) & set(b))


def test_codes_are_normalised_and_deduplicated(make_codes):
    a, b = make_codes([1, 2, 3]), make_codes([3, 4])
    messy = [f"  {a[0].lower()} ", a[1], a[1], a[2].lower()]
    prepared = prepare_codes(messy)
    assert prepared.codes == tuple(sorted(a)) and prepared.duplicates == 1
    assert intersect(messy, b) == [a[2]]


def test_invalid_codes_are_reported_by_file_and_line(tmp_path, make_codes):
    good = make_codes([1, 2])
    bad_check = good[1][:-1] + ("0" if good[1][-1] != "0" else "1")
    path = _write_csv(tmp_path / "ids.csv", [good[0], "not-a-code", good[1], bad_check, ""])
    with pytest.raises(ValidationError, match=r"ids\.csv holds 3 invalid .*line 3: 'not-a-code'.*line 5") as err:
        read_codes(path)
    assert [line for line, _ in err.value.problems] == [3, 5, 6]
    skipped = read_codes(path, skip_invalid=True)
    assert skipped.codes == tuple(sorted(good)) and [line for line, _ in skipped.invalid] == [3, 5, 6]


def test_missing_column_is_named(tmp_path, make_codes):
    path = _write_csv(tmp_path / "ids.csv", make_codes([1]), header="code")
    with pytest.raises(ValidationError, match="has no column 'uscc'; found columns: code"):
        read_codes(path)


# -- privacy -----------------------------------------------------------------------------------------------------


def test_fresh_keys_every_run(make_codes):
    codes = make_codes(range(50))
    (s1, m1), (s2, m2) = round1(codes), round1(codes)
    assert s1.key != s2.key and s1.session != s2.session
    assert not _values(m1.blinded) & _values(m2.blinded)
    r1, r2 = round2(m1, codes), round2(m1, codes)
    assert not _values(r1.peer_blinded) & _values(r2.peer_blinded)
    assert "key" not in repr(s1).replace("key=<hidden>", "")


def test_files_carry_no_code_of_the_other_party_in_any_form(tmp_path, make_codes):
    """Run the file protocol; B's private codes are absent from all A holds, and A's from what B receives."""
    from typer.testing import CliRunner

    from techscore.cli import app

    shared = make_codes(range(0, 30))
    only_a, only_b = make_codes(range(100, 160)), make_codes(range(200, 240))
    a_csv = _write_csv(tmp_path / "a.csv", shared + only_a)
    b_csv = _write_csv(tmp_path / "b.csv", only_b + shared)
    runner = CliRunner()
    steps = [
        ["match", "round1", "--ids", str(a_csv), "--out", str(tmp_path / "r1.psi"), "--state", str(tmp_path / "a.state")],
        ["match", "round2", "--ids", str(b_csv), "--in", str(tmp_path / "r1.psi"), "--out", str(tmp_path / "r2.psi")],
        ["match", "finish", "--state", str(tmp_path / "a.state"), "--in", str(tmp_path / "r2.psi"),
         "--out", str(tmp_path / "shared.csv"), "--json"],
    ]  # fmt: skip
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["shared"] == 30

    out = (tmp_path / "shared.csv").read_text().split()
    assert out[0] == "uscc" and sorted(out[1:]) == sorted(shared)
    for name in ("a.state", "shared.csv"):
        assert os.stat(tmp_path / name).st_mode & 0o777 == 0o600

    def forms(code: str) -> list[bytes]:
        h = hash_to_curve(code)
        return [code.encode(), code.lower().encode(), h, h.hex().encode()]

    r1, r2 = (tmp_path / "r1.psi").read_bytes(), (tmp_path / "r2.psi").read_bytes()
    a_holds = r2 + (tmp_path / "a.state").read_bytes() + (tmp_path / "shared.csv").read_bytes()
    assert not [c for c in only_b + shared if any(f in r2 for f in forms(c))]  # B's codes never in plain or hashed
    assert not [c for c in only_b if any(f in a_holds for f in forms(c))]
    assert not [c for c in only_a + shared if any(f in r1 for f in forms(c))]

    # B's values in the reply are blinded with B's key only: without it they match nothing A can compute
    state, reply = read_state(tmp_path / "a.state"), read_message(tmp_path / "r2.psi")
    once_by_a = _values(_blind_chunk(state.key, b"".join(hash_to_curve(c) for c in only_b)))
    assert not once_by_a & _values(reply.peer_blinded)
    assert not {hash_to_curve(c) for c in only_b} & _values(reply.peer_blinded)


def test_peer_size_limit_refuses_a_probing_peer(make_codes):
    _, message = round1(make_codes(range(20)))
    with pytest.raises(ValidationError, match="sent 20 codes, more than the agreed maximum of 10"):
        round2(message, make_codes(range(5)), max_peer_size=10)


# -- messages and state --------------------------------------------------------------------------------------------


def test_message_and_state_round_trip(tmp_path, make_codes):
    state, message = round1(make_codes(range(10)))
    write_message(message, tmp_path / "m.psi")
    write_state(state, tmp_path / "s.json")
    assert read_message(tmp_path / "m.psi", kind="round1") == message
    again = read_state(tmp_path / "s.json")
    assert (again.key, again.codes, again.session) == (state.key, state.codes, state.session)


def test_wrong_or_damaged_messages_are_refused(tmp_path, make_codes):
    codes = make_codes(range(10))
    state, message = round1(codes)
    other_state, _ = round1(codes)
    reply = round2(message, codes)
    with pytest.raises(ValidationError, match="belongs to session"):
        finish(other_state, reply)
    with pytest.raises(ValidationError, match="round2 answers a 'round1' message"):
        round2(reply, codes)
    path = write_message(reply, tmp_path / "r.psi")
    with pytest.raises(ValidationError, match="is a 'round2' message; expected a 'round1'"):
        read_message(path, kind="round1")
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValidationError, match="header announces"):
        read_message(path)
    (tmp_path / "x.psi").write_bytes(b"hello")
    with pytest.raises(ValidationError, match="not a techscore PSI message"):
        read_message(tmp_path / "x.psi")


def test_cli_simulation_writes_the_shared_codes(tmp_path, make_codes):
    from typer.testing import CliRunner

    from techscore.cli import app

    a, b = make_codes(range(0, 40)), make_codes(range(25, 90))
    bad = _write_csv(tmp_path / "b.csv", [*b, "12345"])
    args = ["match", "--ids", str(_write_csv(tmp_path / "a.csv", a)), "--peer-ids", str(bad), "--out", str(tmp_path / "s.csv")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "b.csv" in result.output and "line 67" in result.output
    result = CliRunner().invoke(app, [*args, "--skip-invalid", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["shared"] == 15 and summary["party B"]["invalid"] == 1
    assert (tmp_path / "s.csv").read_text().split()[1:] == sorted(set(a) & set(b))


# -- hostile values and sizes ----------------------------------------------------------------------------------------


def _twist_point() -> bytes:
    """A u-coordinate of the quadratic twist (not of Curve25519), not of small order."""
    u = 9
    while pow((u**3 + _A * u * u + u) % _P, (_P - 1) // 2, _P) == 1 or u in psi._SMALL_ORDER_U:
        u += 1
    return u.to_bytes(32, "little")


HOSTILE = {
    "twist": (_twist_point(), r"not a point of Curve25519 \(a point of its twist\)"),
    "zero": (bytes(32), "a point of small order"),
    "one": ((1).to_bytes(32, "little"), "a point of small order"),
    "order8": (39382357235489614581723060781553021112529911719440698176882885853963445705823 .to_bytes(32, "little"),
               "a point of small order"),
    "p_plus_9": ((_P + 9).to_bytes(32, "little"), "not a canonical field element"),  # 9 encoded the long way
    "top_bit": (bytes(31) + b"\x80", "not a canonical field element"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_incoming_value_must_be_a_point_of_the_prime_order_group(make_codes, name):
    value, said = HOSTILE[name]
    codes = make_codes(range(6))
    state, message = round1(codes)
    crafted = psi.PsiMessage("round1", message.session, message.blinded[:64] + value + message.blinded[96:])
    with pytest.raises(ValidationError, match=f"value 2 of the peer's round1 message is {said}"):
        round2(crafted, codes)
    reply = round2(message, codes)
    bad_own = psi.PsiMessage("round2", reply.session, reply.blinded, value + reply.peer_blinded[32:])
    with pytest.raises(ValidationError, match=f"value 0 of the peer's own values is {said}"):
        finish(state, bad_own)
    bad_back = psi.PsiMessage("round2", reply.session, reply.blinded[:32] + value + reply.blinded[64:], reply.peer_blinded)
    with pytest.raises(ValidationError, match=f"value 1 of the peer's re-blinded values is {said}"):
        finish(state, bad_back)


def test_honest_values_pass_the_point_check(make_codes):
    _, message = round1(make_codes(range(200)))
    psi.check_points(message.blinded)
    psi.check_points(b"".join(hash_to_curve(c) for c in make_codes(range(200))))


def test_both_parties_bound_the_peer_size_by_default(make_codes, tmp_path):
    import inspect

    assert inspect.signature(round2).parameters["max_peer_size"].default == psi.DEFAULT_MAX_PEER_SIZE
    assert inspect.signature(finish).parameters["max_peer_size"].default == psi.DEFAULT_MAX_PEER_SIZE
    state, message = round1(make_codes(range(5)))
    reply = round2(message, make_codes(range(30)))
    with pytest.raises(ValidationError, match="peer sent 30 codes, more than the agreed maximum of 10"):
        finish(state, reply, max_peer_size=10)  # A checks the reply too


def test_message_sizes_are_checked_before_the_values_are_read(tmp_path, make_codes):
    _, message = round1(make_codes(range(4)))
    path = write_message(message, tmp_path / "m.psi")
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(ValidationError, match="holds 4 values, more than the agreed maximum of 3"):
        read_message(path, max_values=3)
    # a header announcing a billion values is refused from the header alone, whatever follows
    huge = psi._MAGIC + json.dumps({"protocol": psi.PROTOCOL, "kind": "round1", "session": "s",
                                    "n_blinded": 10**9, "n_peer_blinded": 0}).encode() + b"\n" + bytes(64)
    (tmp_path / "huge.psi").write_bytes(huge)
    with pytest.raises(ValidationError, match="more than the agreed maximum"):
        read_message(tmp_path / "huge.psi", max_values=psi.DEFAULT_MAX_PEER_SIZE)
    with pytest.raises(ValidationError, match="header announces"):
        read_message(tmp_path / "huge.psi")
    (tmp_path / "noheader.psi").write_bytes(psi._MAGIC + b"x" * 10_000)
    with pytest.raises(ValidationError, match="no PSI header line"):
        read_message(tmp_path / "noheader.psi")


def test_cli_finish_refuses_a_reply_larger_than_agreed(tmp_path, make_codes):
    from typer.testing import CliRunner

    from techscore.cli import app

    a, b = _write_csv(tmp_path / "a.csv", make_codes(range(5))), _write_csv(tmp_path / "b.csv", make_codes(range(12)))
    runner = CliRunner()
    assert runner.invoke(app, ["match", "round1", "--ids", str(a), "--out", str(tmp_path / "r1.psi"),
                               "--state", str(tmp_path / "a.state")]).exit_code == 0
    too_small = runner.invoke(app, ["match", "round2", "--ids", str(b), "--in", str(tmp_path / "r1.psi"),
                                    "--out", str(tmp_path / "r2.psi"), "--max-peer-size", "4"])
    assert too_small.exit_code != 0 and "more than the agreed maximum of 4" in " ".join(too_small.output.split())
    assert runner.invoke(app, ["match", "round2", "--ids", str(b), "--in", str(tmp_path / "r1.psi"),
                               "--out", str(tmp_path / "r2.psi")]).exit_code == 0
    res = runner.invoke(app, ["match", "finish", "--state", str(tmp_path / "a.state"), "--in", str(tmp_path / "r2.psi"),
                              "--out", str(tmp_path / "s.csv"), "--max-peer-size", "10"])
    assert res.exit_code != 0 and "more than the agreed maximum of 15" in " ".join(res.output.split())  # 5 + 10
