"""The catalogue engine on tiny catalogues: discovery, checks with clear errors, computing each node once."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from techscore.catalogue import Catalogue, load_catalogue
from techscore.exceptions import CatalogueError
from tests.catalogue.conftest import meta

FIN = pd.DataFrame({
    "uscc": ["A", "A", "B", "C"], "year": [2021, 2022, 2022, 2022],
    "revenue": [100.0, 200.0, 50.0, 0.0], "rd_expense": [5.0, 10.0, 1.0, 3.0],
})
ENT = pd.DataFrame({
    "uscc": ["A", "B", "C", "D"], "name": ["a", "b", "c", "d"], "industry": ["C39", "I65", "M73", "C35"],
    "region": ["110108", "310115", "440305", "110101"],
    "founded": pd.to_datetime(["2010-01-01", "2012-05-01", "2015-01-01", "2024-01-01"]),
})
SOURCES = {"financials": FIN, "enterprises": ENT}

GOOD = f'''
CALLS = []

@node
def fin_latest(financials):
    """Latest known fiscal year per firm."""
    CALLS.append("fin_latest")
    return financials.sort_values("year").groupby("uscc").tail(1).set_index("uscc")

{meta()}
def rd_intensity(fin_latest):
    CALLS.append("rd_intensity")
    return fin_latest["rd_expense"] / fin_latest["revenue"].where(fin_latest["revenue"] > 0)

{meta(group="finance", unit="yuan")}
def fin_revenue_latest(fin_latest):
    return fin_latest["revenue"]

{meta(group="rd", unit="flag")}
def rd_high(rd_intensity, threshold=0.04):
    return (rd_intensity >= threshold).astype(float).where(rd_intensity.notna())

{meta(group="profile", unit="category", direction=0, kind="categorical", sources='("enterprises",)',
      categories='("11", "31", "44", "45")')}
def profile_region(enterprises):
    return enterprises.set_index("uscc")["region"].str[:2]

{meta(group="profile", unit="years", sources='("enterprises",)')}
def profile_age_years(enterprises, as_of):
    return (as_of - enterprises.set_index("uscc")["founded"]).dt.days / 365.25
'''


def calls(cat: Catalogue) -> list[str]:
    module = sys.modules[cat.definition("fin_latest").fn.__module__]
    return module.CALLS


def test_discovers_features_and_nodes_in_a_stable_order(workspace):
    cat = load_catalogue(workspace({"a_rd": GOOD}))
    assert cat.ids == ["rd_intensity", "rd_high", "profile_region", "profile_age_years", "fin_revenue_latest"]
    assert cat["rd_intensity"].unit_zh == "比率"  # filled from the unit
    assert cat.dependencies("rd_high") == ("rd_intensity",)  # `threshold` keeps its default
    assert cat.upstream("rd_high") == ["fin_latest", "rd_intensity"]
    assert cat.tables("rd_high") == ["financials"]


def test_compute_each_node_once_and_only_what_is_asked(workspace):
    cat = load_catalogue(workspace({"a_rd": GOOD}))
    frame = cat.compute(SOURCES, "2023-06-01", ids=["rd_intensity", "rd_high", "fin_revenue_latest"])
    assert calls(cat) == ["fin_latest", "rd_intensity"]
    assert list(frame.columns) == ["rd_intensity", "rd_high", "fin_revenue_latest"]
    assert frame.index.name == "uscc"
    assert list(frame.index) == ["A", "B", "C"]  # D is founded after the as-of date
    assert frame.loc["A", "rd_intensity"] == pytest.approx(0.05)
    assert np.isnan(frame.loc["C", "rd_intensity"])  # zero revenue
    assert frame.loc["A", "rd_high"] == 1.0 and frame.loc["B", "rd_high"] == 0.0
    assert (frame.dtypes == "float64").all()
    calls(cat).clear()
    cat.compute(SOURCES, "2023-06-01", ids=["profile_region"])
    assert calls(cat) == []  # nothing of the financials branch


def test_compute_is_point_in_time_and_reindexes_to_the_firms_asked(workspace):
    cat = load_catalogue(workspace({"a_rd": GOOD}))
    # before 31 May 2023 only fiscal year 2021 is known
    frame = cat.compute(SOURCES, "2023-05-31", firms=["B", "Z", "A"])
    assert list(frame.index) == ["B", "Z", "A"]
    assert frame.loc["A", "fin_revenue_latest"] == 100.0
    assert frame.loc["Z"].isna().all()
    assert np.isnan(frame.loc["B", "fin_revenue_latest"])


def test_categorical_features_get_the_declared_categories(workspace):
    cat = load_catalogue(workspace({"a_rd": GOOD}))
    frame = cat.compute(SOURCES, "2025-01-01", ids=["profile_region"])
    col = frame["profile_region"]
    assert isinstance(col.dtype, pd.CategoricalDtype)
    assert list(col.cat.categories) == ["11", "31", "44", "45"]
    assert col.astype("string").tolist() == ["11", "31", "44", "11"]


def test_select_by_group_and_id(workspace):
    cat = load_catalogue(workspace({"a_rd": GOOD}))
    assert cat.select(groups=["finance"]).ids == ["fin_revenue_latest"]
    both = cat.select(groups="finance", ids=["rd_intensity"])
    assert both.ids == ["rd_intensity", "fin_revenue_latest"]
    assert list(both.compute(SOURCES, "2024-01-01").columns) == both.ids
    with pytest.raises(CatalogueError, match="unknown feature group money"):
        cat.select(groups=["money"])
    with pytest.raises(CatalogueError, match="unknown feature id rd_intensty"):
        cat.select(ids=["rd_intensty"])
    with pytest.raises(CatalogueError, match="unknown feature id fin_latest"):
        cat.compute(SOURCES, "2024-01-01", ids=["fin_latest"])  # a node is not a model input


def test_version_changes_with_code_and_metadata_only(workspace, tmp_path):
    root = workspace({"a_rd": GOOD})
    v1 = load_catalogue(root).version
    assert load_catalogue(root).version == v1
    workspace({"a_rd": GOOD.replace('fin_latest["revenue"]\n', 'fin_latest["revenue"] * 1.0\n')})
    v2 = load_catalogue(root).version
    assert v2 != v1
    workspace({"a_rd": GOOD.replace("What it is.", "What it is, better said.")})
    assert load_catalogue(root).version not in (v1, v2)


def test_duplicate_id_names_both_modules(workspace):
    other = f"{meta()}\ndef rd_intensity(financials):\n    return financials['rd_expense']\n"
    root = workspace({"a_rd": GOOD, "b_more": other})
    with pytest.raises(CatalogueError, match=r"rd_intensity is defined twice: in features/a_rd.py and in features/b_more.py"):
        load_catalogue(root)


def test_imported_node_is_not_a_duplicate(workspace):
    shared = '@node\ndef fin_all(financials):\n    """All years."""\n    return financials\n'
    user = f"from ._shared import fin_all\n\n{meta()}\ndef rd_sum(fin_all):\n    return fin_all.groupby('uscc')['rd_expense'].sum()\n"
    cat = load_catalogue(workspace({"_shared": shared, "rd": user}))
    assert cat.ids == ["rd_sum"]
    assert cat.definition("fin_all").module == "features/_shared.py"
    assert cat.compute(SOURCES, "2024-01-01")["rd_sum"].to_dict() == {"A": 15.0, "B": 1.0, "C": 3.0}


@pytest.mark.parametrize(("override", "message"), [
    ({"unit": "percent"}, r"unit must be one of ratio, share.*got 'percent'"),
    ({"group": "esg"}, r"group must be one of rd, ip.*got 'esg'"),
    ({"direction": 2}, r"direction must be -1, 0 or 1; got 2"),
    ({"sources": '("balance_sheet",)'}, r"sources must be table names .*got 'balance_sheet'"),
    ({"sources": "()"}, r"sources must name at least one table"),
    ({"kind": "categorical", "unit": "category", "direction": 1}, r"a categorical feature has direction 0; got 1"),
])
def test_bad_metadata_is_a_clear_error(workspace, override, message):
    code = f"{meta(**override)}\ndef rd_x(financials):\n    return financials['rd_expense']\n"
    with pytest.raises(CatalogueError, match=r"feature rd_x in features/bad.py has bad metadata: " + message):
        load_catalogue(workspace({"bad": code}))


def test_missing_names_are_a_clear_error(workspace):
    code = ('@feature(group="rd", name_zh="", name_en="X", unit="ratio", direction=-1, sources=("financials",), '
            'description="d")\ndef rd_x(financials):\n    return financials["rd_expense"]\n')
    with pytest.raises(CatalogueError, match="name_zh must be a non-empty text; got ''"):
        load_catalogue(workspace({"bad": code}))


def test_unknown_parameter_is_a_clear_error(workspace):
    code = f"{meta()}\ndef rd_x(financial_statements):\n    return financial_statements['rd_expense']\n"
    with pytest.raises(CatalogueError, match=r"rd_x in features/bad.py takes a parameter 'financial_statements' that "
                                            r"names no base input, node or feature"):
        load_catalogue(workspace({"bad": code}))


def test_cycle_is_named(workspace):
    code = f"""
@node
def n_a(rd_c):
    "a"
    return rd_c

@node
def n_b(n_a):
    "b"
    return n_a

{meta()}
def rd_c(n_b, financials):
    return n_b
"""
    with pytest.raises(CatalogueError, match=r"dependency cycle: (\w+) \(features/cyc.py\) -> .* -> \1 \(features/cyc.py\)"):
        load_catalogue(workspace({"cyc": code}))


def test_feature_shadowing_a_base_input_is_refused(workspace):
    code = f"{meta()}\ndef loans(financials):\n    return financials['rd_expense']\n"
    with pytest.raises(CatalogueError, match="loans in features/bad.py shadows a base input"):
        load_catalogue(workspace({"bad": code}))


def test_import_error_names_the_module(workspace):
    with pytest.raises(CatalogueError, match=r"cannot import feature module .*bad.py: NameError"):
        load_catalogue(workspace({"bad": "x = undefined_name\n"}))


def test_no_feature_folder(tmp_path):
    with pytest.raises(CatalogueError, match="no feature folder"):
        load_catalogue(tmp_path)


def test_bad_return_values_are_named(workspace):
    code = f"""
{meta()}
def rd_frame(financials):
    return financials

{meta(unit="count")}
def rd_dupes(financials):
    return financials.set_index("uscc")["rd_expense"]

{meta(unit="count")}
def rd_text(financials):
    return financials.drop_duplicates("uscc").set_index("uscc", drop=False)["uscc"]

{meta(unit="count")}
def rd_boom(financials):
    raise KeyError("no such column")
"""
    cat = load_catalogue(workspace({"bad": code}))
    with pytest.raises(CatalogueError, match="rd_frame .* must return a pandas Series indexed by uscc; got DataFrame"):
        cat.compute(SOURCES, "2024-01-01", ids=["rd_frame"])
    with pytest.raises(CatalogueError, match=r"rd_dupes .* returned several values for the firms \['A'\]"):
        cat.compute(SOURCES, "2024-01-01", ids=["rd_dupes"])
    with pytest.raises(CatalogueError, match="rd_text .* is numeric but returned str"):
        cat.compute(SOURCES, "2024-01-01", ids=["rd_text"])
    with pytest.raises(CatalogueError, match=r"feature rd_boom \(features/bad.py\) failed as of 2024-01-01: KeyError"):
        cat.compute(SOURCES, "2024-01-01", ids=["rd_boom"])


def test_intermediate_results_are_released(workspace):
    cat = load_catalogue(workspace({"a_rd": GOOD}))
    timings: dict[str, float] = {}
    cat.compute(SOURCES, "2024-01-01", timings=timings)
    assert {"known_as_of", "fin_latest", "rd_intensity", "rd_high"} <= set(timings)
    assert all(t >= 0 for t in timings.values())


def test_a_workspace_declares_its_own_feature_group(workspace):
    code = '''
from techscore.catalogue import feature_group

ESG = feature_group("esg", name_zh="环境社会治理", name_en="ESG", order=5)

@feature(group="esg", name_zh="排污许可", name_en="Discharge permit", unit="flag", direction=-1,
         sources=("enterprises",), description="Holds a discharge permit.")
def esg_permit(enterprises, firms):
    return pd.Series(1.0, index=firms)
'''
    cat = load_catalogue(workspace({"a_rd": GOOD, "esg": code}))
    assert cat.groups[0] == "esg" and (cat.group("esg").name_zh, cat.group("esg").name_en) == ("环境社会治理", "ESG")
    assert cat.select(groups=["esg"]).ids == ["esg_permit"]


def test_an_undeclared_group_names_the_declared_ones(workspace):
    with pytest.raises(CatalogueError, match=r"group must be one of rd, ip, .*\(the groups declared in "
                                             r"features/; declare another with feature_group\); got 'esg'"):
        load_catalogue(workspace({"bad": GOOD.replace('group="finance"', 'group="esg"')}))


def test_each_tables_view_is_made_when_first_needed(workspace):
    """A view that is not a slice of its table is a copy: made only when a computation first needs the table (and
    dropped after the last one), the copies of the tables do not all coexist."""
    cat = load_catalogue(workspace({"a_rd": GOOD}))
    log = calls(cat)

    class Logged(dict):
        def get(self, name, default=None):
            log.append(f"view {name}")
            return super().get(name, default)

    frame = cat.compute(Logged(SOURCES), "2023-06-01", firms=["A", "B", "C"], ids=["rd_intensity", "profile_region"])
    assert log.index("view financials") < log.index("fin_latest") < log.index("rd_intensity") \
        < log.index("view enterprises")
    assert log.count("view financials") == log.count("view enterprises") == 1
    assert frame.loc["A", "rd_intensity"] == pytest.approx(0.05) and frame.loc["B", "profile_region"] == "31"
