"""Tax credit grades per firm and year (A, B, M, C, D), from the latent tax standing.

M for a firm's founding year (and the next, for firms founded in its second half); otherwise a score of
84 + 9 x standing + noise graded A >= 90, B >= 70, C >= 40, D below, with rare serious breaches (D), and a
likely D in the year a firm defaults. Grades run from the founding year to the default year.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from techscore.sources.schema import TAX_GRADES
from techscore.synth import _arrow as A
from techscore.synth._arrow import NO_DAY
from techscore.synth.config import SynthConfig, year_of, year_start
from techscore.synth.firms import Firms
from techscore.synth.paths import Paths


def make_tax(firms: Firms, paths: Paths, default_day: np.ndarray, idx: np.ndarray, cfg: SynthConfig,
             rng: np.random.Generator) -> dict[str, pa.Array]:
    """The `tax` columns of firms `idx`."""
    years = paths.years
    shape = (len(idx), len(years))
    fy = firms.founded_year[idx][:, None]
    d = default_day[idx]
    dy = np.where(d == NO_DAY, 10_000, year_of(np.minimum(d, 2_900_000)))[:, None]
    exists = (years[None, :] >= fy) & (years[None, :] <= dy)
    score = 84 + 9 * paths.tax_z[idx] + rng.normal(0, 4, shape) - 40 * (rng.random(shape) < 0.005)
    grade = np.select([score >= 90, score >= 70, score >= 40], [0, 1, 3], 4)  # A, B, C, D
    second_half = (firms.founded[idx] - year_start(firms.founded_year[idx]) >= 182)[:, None]
    new = (years[None, :] == fy) | ((years[None, :] == fy + 1) & second_half)
    grade = np.where(new, 2, grade)  # M
    grade = np.where((years[None, :] == dy) & (rng.random(shape) < 0.6), 4, grade)
    i, t = np.nonzero(exists)
    return {
        "uscc": A.take(firms.uscc, idx[i]),
        "year": A.ints(years[t]),
        "grade": A.take(pa.array(TAX_GRADES), grade[i, t]),
    }
