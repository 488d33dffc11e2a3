"""Comparing models on one bank's test loans: cut-offs, outcomes at the cut-off, and bootstrap intervals.

Cut-offs
    A cut-off is a PD threshold: loans with ``PD <= cutoff`` are approved. `npl_cutoff` implements the policy's
    cut-off tool (credit_policy.md): approve loans from the best-rated down while their *expected* bad rate (the
    mean PD of the approved) stays within the bank's overall NPL ratio plus its tolerance for tech SMEs;
    `approval_cutoff` approves a target share instead. Both look at PDs only, never at outcomes, so a cut-off
    found on one set of loans can be applied unchanged to later ones (`at_cutoff`).

Intervals
    `bootstrap_auc` resamples the test loans with replacement, defaults and non-defaults separately (so every
    resample has both, as pROC's stratified bootstrap), and computes every model's AUC on the *same* resamples:
    the AUC difference of two models is paired, which is what makes a small difference on a small bank
    measurable at all. Percentile intervals; seeded, so the same inputs and seed give the same intervals.

>>> cut = npl_cutoff(valid_pd, max_bad_rate=0.045)                              # doctest: +SKIP
>>> at_cutoff(y_test, test_pd, cut)["approval_rate"]                            # doctest: +SKIP
>>> boot = bootstrap_auc(y_test, {"own": p1, "pooled": p2}, [("pooled", "own")])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from techscore.exceptions import ModelError
from techscore.model.metrics import auc

__all__ = ["BootstrapAUC", "approval_cutoff", "at_cutoff", "bootstrap_auc", "npl_cutoff"]

_BLOCK = 128
"""Resamples computed together (bounds memory at about `_BLOCK` x distinct scores x 8 bytes x 3)."""


def _pds(pd_) -> np.ndarray:
    p = np.asarray(pd_, dtype=np.float64)
    if p.ndim != 1 or np.isnan(p).any():
        raise ModelError("cut-offs need a one-dimensional array of PDs without missing values.")
    return p


def npl_cutoff(pd_, max_bad_rate: float) -> float:
    """The highest PD threshold whose approved loans have a mean PD (expected bad rate) within `max_bad_rate`.

    Loans are approved best-rated first; tied PDs are approved or refused together. Returns ``-inf`` when even
    the best-rated loans expect more than `max_bad_rate` (approve none) and ``+inf`` when every loan fits.
    """
    p = np.sort(_pds(pd_))
    if not 0 <= max_bad_rate < 1:
        raise ModelError(f"max_bad_rate must lie in [0, 1); got {max_bad_rate}.")
    if len(p) == 0:
        raise ModelError("a cut-off needs at least one loan's PD.")
    mean = np.cumsum(p) / np.arange(1, len(p) + 1)
    last_of_tie = np.r_[p[1:] != p[:-1], True]
    ok = np.flatnonzero((mean <= max_bad_rate) & last_of_tie)
    if len(ok) == 0:
        return float("-inf")
    k = ok[-1]
    return float("inf") if k == len(p) - 1 else float(p[k])


def approval_cutoff(pd_, approval_rate: float) -> float:
    """The PD threshold approving about `approval_rate` of the loans (the best-rated; ties together, rounded
    down so the share approved never exceeds the target, unless one tie group alone exceeds it)."""
    p = np.sort(_pds(pd_))
    if not 0 < approval_rate <= 1:
        raise ModelError(f"approval_rate must lie in (0, 1]; got {approval_rate}.")
    if len(p) == 0:
        raise ModelError("a cut-off needs at least one loan's PD.")
    if approval_rate >= 1:
        return float("inf")
    k = int(np.floor(approval_rate * len(p)))  # number of loans to approve
    if k == 0:
        return float("-inf")
    threshold = p[k - 1]
    if k < len(p) and p[k] == threshold:  # the tie group straddles the target: leave it out if possible
        below = p[p < threshold]
        return float(below[-1]) if len(below) else float(threshold)
    return float(threshold)


def at_cutoff(y, pd_, cutoff: float) -> dict[str, float]:
    """Outcomes of approving ``PD <= cutoff``: approval rate, approved count, the approved loans' observed and
    expected (mean PD) bad rates, and the refused loans' observed bad rate."""
    y = np.asarray(y, dtype=np.float64)
    p = _pds(pd_)
    if len(y) != len(p):
        raise ModelError(f"labels and PDs must have the same length; got {len(y)} and {len(p)}.")
    approved = p <= cutoff
    n_ok = int(approved.sum())
    n_no = len(p) - n_ok
    return {
        "approval_rate": n_ok / len(p) if len(p) else float("nan"),
        "approved": float(n_ok),
        "approved_bad_rate": float(y[approved].mean()) if n_ok else float("nan"),
        "approved_expected_bad_rate": float(p[approved].mean()) if n_ok else float("nan"),
        "refused_bad_rate": float(y[~approved].mean()) if n_no else float("nan"),
    }


@dataclass
class BootstrapAUC:
    """Bootstrap results on one set of loans.

    `aucs`: one row per model (model, auc, auc_lo, auc_hi, auc_se); `differences`: one row per pair (variant,
    baseline, auc_diff, diff_lo, diff_hi, diff_se, p_value); `samples`: the resampled AUCs (n x models).
    """

    aucs: pd.DataFrame
    differences: pd.DataFrame
    samples: pd.DataFrame
    n: int
    level: float
    seed: int | Sequence[int]


def _resampled_aucs(score: np.ndarray, pos: np.ndarray, neg: np.ndarray, draw_pos: np.ndarray,
                    draw_neg: np.ndarray) -> np.ndarray:
    """AUC of `score` on each resample (rows of `draw_pos` / `draw_neg`: positions into `pos` / `neg`), ties
    counting one half, by counting each resample's scores per distinct value."""
    values, dense = np.unique(score, return_inverse=True)
    k = len(values)
    n1, n0 = draw_pos.shape[1], draw_neg.shape[1]
    out = np.empty(draw_pos.shape[0])
    for lo in range(0, draw_pos.shape[0], _BLOCK):
        rp = dense[pos][draw_pos[lo:lo + _BLOCK]]
        rn = dense[neg][draw_neg[lo:lo + _BLOCK]]
        b = rp.shape[0]
        offset = (np.arange(b) * k)[:, None]
        cp = np.bincount((rp + offset).ravel(), minlength=b * k).reshape(b, k)
        cn = np.bincount((rn + offset).ravel(), minlength=b * k).reshape(b, k)
        below = np.cumsum(cn, axis=1) - cn
        out[lo:lo + b] = (cp * (below + 0.5 * cn)).sum(axis=1) / (n1 * n0)
    return out


def bootstrap_auc(
    y,
    scores: Mapping[str, np.ndarray],
    pairs: Sequence[tuple[str, str]] = (),
    *,
    n: int = 1000,
    level: float = 0.95,
    seed: int | Sequence[int] = 0,
) -> BootstrapAUC:
    """Percentile intervals of each model's AUC and of the paired AUC differences ``variant - baseline``.

    Parameters
    ----------
    y : array of 0/1
        Test labels (1 = default); both classes must be present.
    scores : mapping of name -> array
        Each model's PDs (or any risk score, higher = riskier) on the same loans, in the same order.
    pairs : sequence of (variant, baseline)
        Differences to estimate.
    n, level, seed
        Resamples, interval coverage and the seed (an int or a sequence of ints for `numpy.random.default_rng`).

    Returns
    -------
    BootstrapAUC
        The point estimates are the AUCs on the loans themselves; `p_value` is the two-sided bootstrap p-value
        of a zero difference (twice the smaller share of resampled differences on either side of zero).
    """
    y = np.asarray(y).astype(np.int64)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if len(pos) == 0 or len(neg) == 0:
        raise ModelError(f"a bootstrap of the AUC needs defaults and non-defaults; got {len(pos)} defaults in "
                         f"{len(y)} loans.")
    if not 0.5 < level < 1:
        raise ModelError(f"level must lie in (0.5, 1); got {level}.")
    for name, s in scores.items():
        if len(s) != len(y):
            raise ModelError(f"scores of {name!r} have {len(s)} values for {len(y)} labels.")
    for a, b in pairs:
        missing = [m for m in (a, b) if m not in scores]
        if missing:
            raise ModelError(f"pair ({a}, {b}) names models without scores: {', '.join(missing)}.")
    rng = np.random.default_rng(seed)
    draw_pos = rng.integers(0, len(pos), size=(n, len(pos)))
    draw_neg = rng.integers(0, len(neg), size=(n, len(neg)))
    samples = pd.DataFrame({name: _resampled_aucs(np.asarray(s, dtype=np.float64), pos, neg, draw_pos, draw_neg)
                            for name, s in scores.items()})
    q = [(1 - level) / 2, (1 + level) / 2]
    point = {name: auc(y, s) for name, s in scores.items()}
    aucs = pd.DataFrame([
        {"model": name, "auc": point[name], "auc_lo": float(np.quantile(samples[name], q[0])),
         "auc_hi": float(np.quantile(samples[name], q[1])), "auc_se": float(samples[name].std(ddof=1))}
        for name in scores
    ])
    rows = []
    for a, b in pairs:
        d = (samples[a] - samples[b]).to_numpy()
        p_value = min(1.0, 2 * min(float(np.mean(d <= 0)), float(np.mean(d >= 0))))
        rows.append({"variant": a, "baseline": b, "auc_diff": point[a] - point[b],
                     "diff_lo": float(np.quantile(d, q[0])), "diff_hi": float(np.quantile(d, q[1])),
                     "diff_se": float(d.std(ddof=1)), "p_value": p_value})
    differences = pd.DataFrame(rows, columns=["variant", "baseline", "auc_diff", "diff_lo", "diff_hi", "diff_se",
                                              "p_value"])
    return BootstrapAUC(aucs, differences, samples, n, level, seed)
