"""Hand-exported tabular files: whitespace-separated text without a header, category codes that look like numbers,
good/bad labels, a data file inside an installed package, and the errors a damaged export must give."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from techscore.dataset.experiment import load_dataset
from techscore.dataset.tabular import load_tabular
from techscore.exceptions import SchemaError, SpecError
from techscore.specs import load_experiment

ROOT = Path(__file__).resolve().parents[2]
AUSTRALIAN = ROOT.parent / "shared" / "data" / "australian_credit" / "australian.dat"
COLUMNS = ["region", "income", "age", "class"]


def _export(tmp_path: Path, rows: list[str], name: str = "loans.dat") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _rows(n: int = 60, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        income = "NA" if i % 17 == 3 else f"{rng.lognormal(3, 0.5):.2f}"
        out.append(f"{rng.integers(1, 4)} {income} {rng.integers(20, 70)} {int(i % 3 == 0)}")
    return out


def test_whitespace_file_with_named_columns_codes_and_missing(tmp_path):
    path = _export(tmp_path, _rows())
    ds = load_tabular(path, target="class", columns=COLUMNS, categorical=["region"])
    kinds = {f.name_en: f.kind for f in ds.features}
    assert kinds == {"region": "categorical", "income": "numeric", "age": "numeric"}
    region = next(f for f in ds.features if f.name_en == "region")
    assert region.categories == ("1", "2", "3")
    income = ds.X[next(f.id for f in ds.features if f.name_en == "income")]
    assert income.isna().sum() == len([i for i in range(60) if i % 17 == 3])  # NA read as missing
    assert ds.y.sum() == 20 and len(ds.y) == 60


def test_whitespace_file_needs_column_names(tmp_path):
    path = _export(tmp_path, _rows())
    with pytest.raises(SchemaError, match=r"loans\.dat: a whitespace-separated file has no header row"):
        load_tabular(path, target="class")


def test_row_with_a_missing_field_names_file_and_line(tmp_path):
    rows = _rows()
    rows[9] = "2 31.5 1"  # one field short
    path = _export(tmp_path, rows)
    with pytest.raises(SchemaError, match=r"loans\.dat: line 10: expected 4 fields .* got 3"):
        load_tabular(path, target="class", columns=COLUMNS)


def test_word_in_a_column_of_numbers_names_row_and_column(tmp_path):
    rows = _rows()
    rows[24] = "2 n/a 33 0"
    path = _export(tmp_path, rows)
    with pytest.raises(SchemaError, match=r"data row 25: column 'income' holds numbers, but this row has 'n/a'"):
        load_tabular(path, target="class", columns=COLUMNS)


def test_csv_without_header_and_good_bad_labels(tmp_path):
    rows = [f"{r.split()[0]},{r.split()[1]},{r.split()[2]},{'bad' if r.split()[3] == '1' else 'good'}"
            for r in _rows()]
    path = _export(tmp_path, rows, "loans.csv")
    ds = load_tabular(path, target="class", columns=COLUMNS, event="bad")
    assert ds.y.sum() == 20
    rows[5] = rows[5].rsplit(",", 1)[0] + ",gdoo"
    path = _export(tmp_path, rows, "typo.csv")
    with pytest.raises(SchemaError, match=r"typo\.csv: target column 'class' must hold two values, one of them "
                                          r"the event 'bad'; got .*'gdoo'"):
        load_tabular(path, target="class", columns=COLUMNS, event="bad")


def test_experiment_reads_a_data_file_inside_an_installed_package(tmp_path, monkeypatch):
    package = tmp_path / "site" / "loanbook_data"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    rows = [",".join(r.split()[:3]) + ("," + ("bad" if r.split()[3] == "1" else "good")) for r in _rows()]
    (package / "data" / "loans.csv").write_text("region,income,age,status\n" + "\n".join(rows) + "\n",
                                                encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    (tmp_path / "ws" / "experiments").mkdir(parents=True)
    spec_path = tmp_path / "ws" / "experiments" / "pkg.toml"
    spec_path.write_text(textwrap.dedent("""
        name = "pkg"
        [data]
        tabular = "package:loanbook_data/data/loans.csv"
        target = "status"
        event = "bad"
        categorical = ["region"]
        [split]
        cv = 3
    """), encoding="utf-8")
    ds = load_dataset(load_experiment(spec_path, check_model=False))
    assert len(ds.y) == 60 and ds.y.sum() == 20
    assert [f.kind for f in ds.features] == ["categorical", "numeric", "numeric"]

    spec_path.write_text(spec_path.read_text().replace("loanbook_data/", "no_such_data_package/"), encoding="utf-8")
    with pytest.raises(SpecError, match=r"pkg\.toml: key 'data.tabular': .*'no_such_data_package', which is not "
                                        r"installed"):
        load_dataset(load_experiment(spec_path, check_model=False))


@pytest.mark.skipif(not AUSTRALIAN.is_file(), reason="shared/data/australian_credit not beside the checkout")
def test_australian_experiment_spec_reads_the_real_file():
    ds = load_dataset(load_experiment(ROOT / "experiments" / "australian.toml", workspace=ROOT))
    assert ds.X.shape == (690, 14) and int(ds.y.sum()) == 307
    assert sum(f.kind == "categorical" for f in ds.features) == 8
    assert ds.X.isna().any(axis=None)  # the mirror writes a few values as NA: read as missing, not as words


def test_an_empty_column_stays_numeric(tmp_path):
    path = _export(tmp_path, [f"{r.rsplit(' ', 1)[0]} ? {r.rsplit(' ', 1)[1]}" for r in _rows()])
    ds = load_tabular(path, target="class", columns=[*COLUMNS[:3], "unused", "class"])
    unused = next(f for f in ds.features if f.name_en == "unused")
    assert unused.kind == "numeric" and ds.X[unused.id].isna().all()
