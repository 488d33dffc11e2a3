"""The parts of the joint experiment: cut-offs, the paired bootstrap, the bank's own features, the spec and the
tracking parties."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from techscore.exceptions import AuthError, CatalogueError, ModelError, SpecError
from techscore.joint.compare import _resampled_aucs, approval_cutoff, at_cutoff, bootstrap_auc, npl_cutoff
from techscore.joint.runs import resolve_tracking
from techscore.joint.spec import load_joint
from techscore.model.metrics import auc

# -- cut-offs ----------------------------------------------------------------------------------------------------


def test_npl_cutoff_approves_the_longest_best_rated_prefix_within_the_limit():
    p = np.array([0.10, 0.01, 0.03, 0.02])
    # cumulative mean of the sorted PDs: 0.01, 0.015, 0.02, 0.04
    assert npl_cutoff(p, 0.02) == 0.03
    assert npl_cutoff(p, 0.0199) == 0.02
    assert npl_cutoff(p, 0.005) == -np.inf
    assert npl_cutoff(p, 0.05) == np.inf
    out = at_cutoff([1, 0, 0, 0], p, npl_cutoff(p, 0.02))
    assert out["approval_rate"] == 0.75 and out["approved"] == 3
    assert out["approved_expected_bad_rate"] == pytest.approx(0.02)
    assert out["approved_bad_rate"] == 0.0 and out["refused_bad_rate"] == 1.0


def test_npl_cutoff_takes_or_leaves_tied_pds_together():
    p = np.array([0.01, 0.03, 0.03])  # means 0.01, 0.02, 0.0233: the tie cannot be split at 0.02
    assert npl_cutoff(p, 0.02) == 0.01
    assert at_cutoff([0, 0, 0], p, npl_cutoff(p, 0.02))["approval_rate"] == pytest.approx(1 / 3)


def test_approval_cutoff_meets_the_target_share_without_exceeding_it():
    p = np.linspace(0.01, 0.10, 10)
    assert np.mean(p <= approval_cutoff(p, 0.8)) == 0.8
    assert approval_cutoff(p, 1.0) == np.inf
    assert approval_cutoff(p, 0.05) == -np.inf
    tied = np.array([0.01, 0.02, 0.02, 0.02, 0.05])
    assert np.mean(tied <= approval_cutoff(tied, 0.6)) == 0.2  # the tie straddles 60%: left out
    with pytest.raises(ModelError, match="approval_rate must lie in"):
        approval_cutoff(p, 0.0)
    with pytest.raises(ModelError, match="without missing values"):
        npl_cutoff([0.1, np.nan], 0.05)


# -- bootstrap ---------------------------------------------------------------------------------------------------


def _scores(n: int = 600, seed: int = 1):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.08).astype(int)
    strong = rng.normal(size=n) + 1.2 * y
    weak = strong + rng.normal(scale=1.5, size=n)
    return y, np.round(strong, 1), weak  # rounding makes ties


def test_resampled_auc_equals_the_auc_of_each_resample():
    y, s, _ = _scores()
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(0)
    dp, dn = rng.integers(0, len(pos), (200, len(pos))), rng.integers(0, len(neg), (200, len(neg)))
    fast = _resampled_aucs(s, pos, neg, dp, dn)
    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    slow = [auc(labels, np.r_[s[pos][dp[i]], s[neg][dn[i]]]) for i in range(200)]
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_bootstrap_is_paired_seeded_and_brackets_the_estimates():
    y, strong, weak = _scores()
    boot = bootstrap_auc(y, {"strong": strong, "weak": weak, "same": strong.copy()},
                         [("strong", "weak"), ("same", "strong")], n=500, seed=[3, 4])
    again = bootstrap_auc(y, {"strong": strong, "weak": weak, "same": strong.copy()},
                          [("strong", "weak"), ("same", "strong")], n=500, seed=[3, 4])
    pd.testing.assert_frame_equal(boot.differences, again.differences)
    a = boot.aucs.set_index("model")
    assert a.loc["strong", "auc"] == pytest.approx(auc(y, strong))
    assert (a["auc_lo"] <= a["auc"]).all() and (a["auc"] <= a["auc_hi"]).all()
    d = boot.differences.set_index("variant")
    assert d.loc["strong", "diff_lo"] <= d.loc["strong", "auc_diff"] <= d.loc["strong", "diff_hi"]
    assert d.loc["strong", "diff_lo"] > 0 and d.loc["strong", "p_value"] < 0.05  # a real gain is detected
    # the same model against itself: every paired resample differs by exactly zero
    assert d.loc["same", ["auc_diff", "diff_lo", "diff_hi"]].tolist() == [0.0, 0.0, 0.0]
    assert d.loc["same", "p_value"] == 1.0
    # paired intervals of the difference are narrower than the unpaired spread of the two AUCs
    assert d.loc["strong", "diff_se"] < np.hypot(a.loc["strong", "auc_se"], a.loc["weak", "auc_se"])


def test_bootstrap_refuses_one_class():
    with pytest.raises(ModelError, match="needs defaults and non-defaults; got 0 defaults"):
        bootstrap_auc(np.zeros(10), {"a": np.arange(10.0)})


# -- the bank's own features -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue():
    from pathlib import Path

    from techscore.catalogue import load_catalogue

    return load_catalogue(Path(__file__).resolve().parents[2])


def _loans() -> pd.DataFrame:
    d = pd.Timestamp
    return pd.DataFrame({
        "loan_id": ["L1", "L2", "L3", "L4", "L5", "L6"],
        "bank_id": ["A", "A", "B", "A", "A", "A"],
        "uscc": ["F1", "F1", "F1", "F1", "F1", "F2"],
        "issued": [d("2020-01-15"), d("2021-03-10"), d("2021-06-01"), d("2022-01-15"), d("2022-01-15"),
                   d("2020-01-01")],
        "amount": [100.0, 200.0, 999.0, 300.0, 50.0, 10.0],
        "term_months": [12, 24, 12, 12, 12, 12],
        "default_date": [pd.NaT, d("2022-01-15"), d("2021-07-01"), pd.NaT, pd.NaT, pd.NaT],
    })


def test_bank_features_are_a_catalogue_group_left_out_unless_asked_for(catalogue):
    bank = catalogue.select(groups=["bank"])
    assert bank.ids == ["bank_prior_loans", "bank_prior_defaults", "bank_months_as_customer",
                        "bank_months_since_last_loan", "bank_exposure", "bank_prior_amount"]
    assert catalogue.group("bank").name_zh == "银行自有" and bank["bank_prior_defaults"].direction == 1
    assert all(catalogue.party(i) == "bank" for i in bank.ids) and catalogue.party("profile_prior_loans") is None
    assert not any(i.startswith("bank_") for i in catalogue.ids)  # platform-only selections never hold them
    assert not any(i.startswith("bank_") for i in catalogue.select(groups=["profile"]).ids)
    with pytest.raises(CatalogueError, match="bank_prior_loans.*lending bank's own; pass bank="):
        bank.compute({"loans": _loans()}, "2022-01-01", firms=["F1"])


def test_bank_features_use_only_the_lending_banks_loans_known_before_the_as_of_date(catalogue):
    ids = catalogue.select(groups=["bank"]).ids
    a = catalogue.compute({"loans": _loans()}, "2022-01-01", firms=["F1", "F3"], ids=ids, bank="A")
    # L1 and L2 at A before 2022-01-01 (L3 is bank B's; L4, L5 come later); L2's default on 2022-01-15 is not yet
    # known; L1 (23 whole months old) is past its 12-month term, L2 (9 months) within its 24
    assert a.loc["F1"].to_dict() == pytest.approx({
        "bank_prior_loans": 2, "bank_prior_defaults": 0, "bank_exposure": 200, "bank_prior_amount": 300,
        "bank_months_as_customer": (pd.Timestamp("2022-01-01") - pd.Timestamp("2020-01-15")).days / (365.25 / 12),
        "bank_months_since_last_loan": (pd.Timestamp("2022-01-01") - pd.Timestamp("2021-03-10")).days / (365.25 / 12),
    })
    assert a.loc["F3", "bank_prior_loans"] == 0 and np.isnan(a.loc["F3", "bank_months_as_customer"])
    b = catalogue.compute({"loans": _loans()}, "2022-01-01", firms=["F1"], ids=ids, bank="B")
    assert b.loc["F1", ["bank_prior_loans", "bank_prior_defaults", "bank_prior_amount"]].tolist() == [1, 1, 999]


def test_a_loans_bank_features_are_its_banks_as_of_the_first_day_of_its_issue_month(catalogue):
    from techscore.dataset.build import bank_features

    ids = catalogue.select(groups=["bank"]).ids
    rows = _loans().iloc[[0, 2, 3]].set_index(pd.Index([10, 12, 13]))
    later = pd.DataFrame({"bank_id": ["A"], "uscc": ["F1"], "issued": [pd.Timestamp("2022-02-20")]}, index=[7])
    f = bank_features(pd.concat([rows, later]), {"loans": _loans()}, catalogue, ids)
    assert list(f.columns) == ids and list(f.index) == [10, 12, 13, 7]
    assert f.loc[10, "bank_prior_loans"] == 0  # A's first loan to F1
    assert f.loc[12, "bank_prior_loans"] == 0  # bank B never sees bank A's loans
    assert f.loc[13, ["bank_prior_loans", "bank_prior_defaults"]].tolist() == [2, 0]  # as of 2022-01-01
    # as of 2022-02-01: L4 and L5 of 2022-01-15 are known, and so is L2's default of that day
    assert f.loc[7, ["bank_prior_loans", "bank_prior_defaults", "bank_prior_amount"]].tolist() == [4, 1, 650]


# -- the spec ----------------------------------------------------------------------------------------------------

SPEC = """
name = "j"
model = "models/m.toml"
[data]
path = "world"
[split]
train_before = 2021-01-01
test_from = 2022-01-01
[banks.BANK_A]
npl_ratio = 0.01
[banks.BANK_B]
approval_rate = 0.7
user = "bank_b"
"""


@pytest.fixture
def ws(tmp_path):
    (tmp_path / "experiments").mkdir()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.toml").write_text('name = "m"\n', encoding="utf-8")
    return tmp_path


def _write(ws, text: str):
    path = ws / "experiments" / "j.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_spec_defaults_and_resolved_names(ws):
    spec = load_joint(_write(ws, SPEC))
    assert spec.variants == ["own", "pooled", "own_bank", "pooled_bank"]
    assert [(c.name, c.variant, c.baseline) for c in spec.comparison_list] == [
        ("pooling_gain", "pooled", "own"), ("bank_features_gain", "own_bank", "own"),
        ("pooled_bank_features_gain", "pooled_bank", "pooled")]
    assert spec.banks["BANK_A"].max_bad_rate == pytest.approx(0.04)  # NPL ratio + the 3-point default tolerance
    assert spec.experiment_of(spec.bank_user("BANK_B")) == "joint/bank_b"
    assert spec.experiment_spec().dataset_dir == ws / f"dataset-{spec.name}"


@pytest.mark.parametrize(("top", "tables", "message"), [
    ("", "[bootstrap]\nn = 50\n", r"j\.toml: key 'bootstrap\.n'"),
    ("", "[banks.BANK_C]\nnpl_ratio = 0.01\napproval_rate = 0.5\n", r"key 'banks\.BANK_C'.*either npl_ratio"),
    ("", "[banks.BANK_C]\napproval_rate = 0.5\nnpl_tolerance = 0.01\n", r"banks\.BANK_C.*npl_tolerance applies"),
    ("", "[tracking]\nplatfrom_user = 'p'\n", r"unknown key 'tracking\.platfrom_user'"),
    ("variants = ['own', 'pooled']\n", "[[comparisons]]\nname = 'x'\nvariant = 'own_bank'\nbaseline = 'own'\n",
     r"comparison 'x' names variants not in variants: own_bank"),
    ("variants = ['own', 'shared']\n", "", r"key 'variants\.1'"),
])
def test_spec_errors_name_the_file_and_key(ws, top, tables, message):
    with pytest.raises(SpecError, match=message):
        load_joint(_write(ws, top + SPEC + tables), check_model=False)


def test_spec_learner_overrides_apply_to_every_variant_and_are_checked(ws):
    spec = load_joint(_write(ws, SPEC + "[learner]\nrefit = false\nlearning_rate = 0.2\n"))
    assert spec.model_spec().learner.learning_rate == 0.2 and spec.model_spec().learner.refit is False
    assert spec.model_spec().name == "m" and spec.model_spec().path == ws / "models" / "m.toml"
    with pytest.raises(SpecError, match=r"j\.toml: unknown key 'learner\.refitt'"):
        load_joint(_write(ws, SPEC + "[learner]\nrefitt = false\n"))
    with pytest.raises(SpecError, match=r"j\.toml: key 'learner\.learning_rate'"):
        load_joint(_write(ws, SPEC + "[learner]\nlearning_rate = 2\n"))


def test_spec_needs_loans_of_several_banks_and_an_out_of_time_split(ws):
    one_bank = SPEC.split("[banks.BANK_B]")[0]
    with pytest.raises(SpecError, match="at least two banks"):
        load_joint(_write(ws, one_bank), check_model=False)
    cv = SPEC.replace("train_before = 2021-01-01\ntest_from = 2022-01-01", "cv = 5")
    with pytest.raises(SpecError, match="split must be out of time"):
        load_joint(_write(ws, cv), check_model=False)
    with pytest.raises(SpecError, match="model spec|not found"):
        load_joint(_write(ws, SPEC.replace("models/m.toml", "models/none.toml")))


# -- tracking parties --------------------------------------------------------------------------------------------


def test_server_parties_need_passwords_from_the_credentials_file_or_environment(ws):
    spec = load_joint(_write(ws, SPEC))
    url = "http://127.0.0.1:9"
    with pytest.raises(AuthError, match="no password for tracking users 'BANK_A', 'bank_b', 'platform'.*TECHSCORE_PASSWORD_BANK_A, TECHSCORE_PASSWORD_BANK_B, TECHSCORE_PASSWORD_PLATFORM"):
        resolve_tracking(spec, tracking_uri=url, environ={})
    creds = {"tracking_uri": url, "users": {
        "BANK_A": {"username": "BANK_A", "password": "a" * 24, "experiment": "joint/BANK_A"},
        "platform": {"username": "platform", "password": "p" * 24, "experiment": "joint/platform"}}}
    trk = resolve_tracking(spec, credentials=creds, environ={"TECHSCORE_PASSWORD_BANK_B": "b" * 24})
    assert trk.remote and trk.uri == url
    assert trk.banks["BANK_B"].user == "bank_b" and trk.banks["BANK_B"].experiment == "joint/bank_b"
    assert trk.banks["BANK_B"].password == "b" * 24 and trk.platform.password == "p" * 24
    assert "a" * 24 not in repr(trk)  # passwords never show in reprs


def test_local_store_parties_have_no_passwords(ws, tmp_path):
    spec = load_joint(_write(ws, SPEC))
    trk = resolve_tracking(spec, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", environ={})
    assert not trk.remote and trk.platform.experiment == "joint/platform"
    assert {b: p.password for b, p in trk.banks.items()} == {"BANK_A": None, "BANK_B": None}


def test_the_experiment_reads_data_and_never_makes_a_synthetic_world(ws):
    from techscore.joint.experiment import run_joint

    spec = load_joint(_write(ws, SPEC + "[synth]\nfirms = 50\nseed = 1\n"))
    folder = spec.resolve(spec.data.path)
    with pytest.raises(SpecError, match=r"j\.toml: key 'data\.path': folder .* does not exist"):
        run_joint(spec, tracking=False, out=ws / "out")
    assert not folder.exists()  # `techscore joint` (the CLI) generates it; the library only reads
