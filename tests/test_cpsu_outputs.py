"""Outputs around the CPSU model: figures, counterfactual scenarios, compare, ablate, ODD tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from allegiance import load_scenario, odd
from allegiance.ablation import hypothesis_table, mechanisms_of
from allegiance.compare import compare
from conftest import SMALL, cli

ROOT = Path(__file__).resolve().parents[1]

FIGURES = ("members_vs_data", "members_vs_committed", "composition", "belief_trust",
           "survey", "crisis_breakdown")

#: what each counterfactual is meant to change (leaf key paths of the resolved scenario)
COUNTERFACTUALS = {
    "cpsu_no_secret_speech": {"events.secret_speech.enabled"},
    "cpsu_selective": {
        "events.selectivity_1924.enabled", "events.selectivity_1939.enabled",
        "events.selectivity_1941.enabled", "events.selectivity_1946.enabled",
        "events.candidacy_war.enabled", "events.admission_1924_lenin_enrolment.enabled",
        "events.admission_1925.value", "events.admission_1929.value",
        "hold.admission_rate.enabled", "hold.admission_rate.from", "hold.admission_rate.note",
        "hold.admission_rate.value"},
    "cpsu_criticism": {"levers.criticism"},
    "cpsu_no_glasnost": {"events.glasnost.enabled", "events.openness_1990.enabled",
                         "events.glasnost_history.enabled"},
    "cpsu_remedies": {"levers.theory_study", "levers.contact", "levers.criticism",
                      "levers.history_education"},
}


def _leaves(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict) and v:
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def test_run_writes_every_figure_png_and_svg(cpsu_small, tmp_path):
    """``allegiance run cpsu`` (Result.save with figures) writes all five figures, both formats:
    of the session's whole 1917-1991 run at 1:10,000 (the crisis is in 1991)."""
    out = cpsu_small.save(tmp_path / "r", figures=True)
    for name in FIGURES:
        png, svg = out / "figures" / f"{name}.png", out / "figures" / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert png.stat().st_size > 30_000, name  # a drawn figure, not an empty canvas
        text = svg.read_text()
        assert text.lstrip().startswith("<?xml") and "</svg>" in text, name
        assert svg.stat().st_size > 30_000, name
    # the caption carries the sources
    assert "cpsu_membership.csv" in (out / "figures" / "members_vs_data.svg").read_text()


@pytest.mark.parametrize("name", sorted(COUNTERFACTUALS))
def test_counterfactual_differs_from_cpsu_only_in_what_it_states(name):
    base = dict(_leaves(load_scenario("cpsu").to_dict()))
    sc = load_scenario(name)
    assert sc.name == name and sc.model == "cpsu"
    mine = dict(_leaves(sc.to_dict()))
    skip = ("name", "description", "provenance")
    changed = {k for k in set(base) | set(mine)
               if k.split(".")[0] not in skip and base.get(k) != mine.get(k)}
    assert changed == COUNTERFACTUALS[name]
    # every change is declared as a counterfactual in [provenance], and nothing more
    stated = {k for k, v in sc.provenance.items() if v.startswith("counterfactual:")}
    for k in changed:
        parts = k.split(".")
        assert any(".".join(parts[:i]) in stated for i in range(len(parts), 0, -1)), k
    for k in stated:
        assert any(c == k or c.startswith(k + ".") for c in changed), k


def test_compare_common_random_numbers(tmp_path):
    """A counterfactual that only changes a Feb 1956 event is bit-identical before 1956-02."""
    res = compare("cpsu", "cpsu_no_secret_speech", tmp_path / "cmp", seed=3, scale=SMALL,
                  overrides=["run.end=1957-06"], threads=1, figures=False)
    ta, tb = res["a"].timeseries, res["b"].timeseries
    before_a = ta[ta["date"] < "1956-02"].reset_index(drop=True)
    before_b = tb[tb["date"] < "1956-02"].reset_index(drop=True)
    assert len(before_a) > 400
    pd.testing.assert_frame_equal(before_a, before_b, check_exact=True)
    t = res["table"]
    diff_cols = [c for c in t.columns if c.endswith("_diff")]
    assert (t.loc[t["date"] < "1956-02", diff_cols].fillna(0) == 0).all().all()
    after = t.loc[t["date"] >= "1956-02", diff_cols].fillna(0)
    assert (after != 0).any().any()
    # rows hold the stocks on the 1st of the month and the flows during it: the shock of
    # Feb 1956 shows in that month's flows if it changed a decision, else in March's stocks
    assert res["first_difference"] in ("1956-02", "1956-03")
    assert (t.loc[t["date"] == "1956-03", "mean_belief_adults_diff"] != 0).all()
    out = res["path"]
    on_disk = pd.read_parquet(out / "comparison.parquet")
    assert list(on_disk.columns) == list(t.columns) and len(on_disk) == len(t)
    for f in ("comparison.png", "comparison.svg", "comparison.json",
              "a_cpsu/manifest.json", "b_cpsu_no_secret_speech/manifest.json"):
        assert (out / f).is_file(), f


def test_ablate_cli_writes_one_row_per_variant(tmp_path):
    out = tmp_path / "abl"
    r = cli("ablate", "cpsu", "--seeds", "2", "--scale", str(SMALL), "--set", "run.end=1919-06",
            "--out", str(out), "--quiet", "--serial")
    assert r.returncode == 0, r.stderr
    table = pd.read_parquet(out / "ablation.parquet")
    mechs = mechanisms_of(load_scenario("cpsu"))
    assert "commitment" not in mechs and "recruitment" in mechs
    assert list(table["variant"]) == ["full"] + [f"no_{m}" for m in mechs]
    assert (table["n_seeds"] == 2).all() and (table["n_failed"] == 0).all()
    runs = pd.read_parquet(out / "ablation_runs.parquet")
    assert len(runs) == 2 * len(table)
    assert runs["fit"].notna().all()
    md = (out / "ablation.md").read_text()
    assert "allegiance ablate cpsu --seeds 2" in md
    assert md.count("\n| ") == len(table) + 1  # header + one row per variant


def test_ablate_and_compare_give_the_same_on_any_executor():
    """ablate and compare run on the experiments' executors: a process pool gives what the
    serial executor (and compare's in-process default) gives, with the experiments' seeds."""
    from allegiance import ablation
    from allegiance.compare import run_pair
    from allegiance.experiments.executors import PoolExecutor, SerialExecutor, run_seed

    kw = {"seeds": 2, "seed": 5, "scale": SMALL, "overrides": ["run.end=1918-03"]}
    a = ablation.run_ensemble("cpsu", executor=SerialExecutor(), **kw)
    b = ablation.run_ensemble("cpsu", executor=PoolExecutor(workers=2), **kw)
    cols = [c for c in a.columns if c != "wall_seconds"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert sorted(set(a["seed"])) == sorted(run_seed(5, k) for k in range(2))
    over = {"run.end": "1918-03"}
    ra, rb = run_pair("cpsu", "cpsu_no_secret_speech", scale=SMALL, overrides=over)
    pa, pb = run_pair("cpsu", "cpsu_no_secret_speech", scale=SMALL, overrides=over,
                      executor=PoolExecutor(workers=2))
    pd.testing.assert_frame_equal(ra.timeseries, pa.timeseries)
    pd.testing.assert_frame_equal(rb.timeseries, pb.timeseries)


def test_hypothesis_table_still_fits_rule():
    runs = pd.DataFrame([
        {"variant": "full", "mechanism_off": "", "seed": s, "fit": f, "fit_points": 30,
         "error": ""} for s, f in ((1, 0.1), (2, 0.3))
    ] + [
        {"variant": "no_a", "mechanism_off": "a", "seed": 1, "fit": 0.29, "fit_points": 30,
         "error": ""},  # 1.45 x full: fits
        {"variant": "no_b", "mechanism_off": "b", "seed": 1, "fit": 0.31, "fit_points": 30,
         "error": ""},  # 1.55 x full: does not
        {"variant": "no_c", "mechanism_off": "c", "seed": 1, "fit": 0.05, "fit_points": 12,
         "error": ""},  # party died out: scored on fewer points
        {"variant": "no_d", "mechanism_off": "d", "seed": 1, "fit": float("nan"),
         "fit_points": float("nan"), "error": "ValueError: x"},
    ])
    for col in ("members_1989", "exits_1990", "committed_members_1991_07", "defenders_members",
                "defenders_nonmembers", "opponents_nonmembers"):
        runs[col] = float("nan")
    t = hypothesis_table(runs, tolerance=1.5).set_index("variant")
    assert t.loc["full", "fit_mean"] == pytest.approx(0.2)
    assert t.loc["full", "fit_min"] == 0.1 and t.loc["full", "fit_max"] == 0.3
    assert t["still_fits"].to_dict() == {"full": True, "no_a": True, "no_b": False,
                                         "no_c": False, "no_d": False}


def test_architecture_tables_match_code():
    """docs/ARCHITECTURE.md's generated blocks (layers, the month) equal the code's."""
    path = "docs/ARCHITECTURE.md"
    assert odd.stale_blocks(ROOT / path, odd.DOCS[path]) == []


def test_odd_tables_match_code():
    """docs/ODD.md's generated blocks equal what the code produces now (regenerate with
    ``PYTHONPATH=src python scripts/gen_odd_tables.py``)."""
    path = ROOT / "docs" / "ODD.md"
    assert odd.stale_blocks(path, odd.DOCS["docs/ODD.md"]) == []
    text = path.read_text()
    assert "`levers.admission_rate`" in text and "`mechanisms.exit.hazard`" in text
    # and the check would notice drift
    tampered = text.replace("| `levers.selectivity` | float | 0.5 |",
                            "| `levers.selectivity` | float | 0.9 |")
    assert tampered != text
    assert odd.render(tampered) == text


def test_cli_lists_compare_and_ablate():
    r = cli("--help")
    assert r.returncode == 0
    assert "compare" in r.stdout and "ablate" in r.stdout
    r = cli("compare", "--help")
    assert r.returncode == 0 and "--set" in r.stdout and "--seed" in r.stdout


def test_ablate_bad_seeds_is_one_line_error(tmp_path):
    r = cli("ablate", "cpsu", "--seeds", "0", "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert "--seeds" in r.stderr and "Traceback" not in r.stderr


def test_replace_blocks_touches_only_the_named_blocks():
    text = ("a\n<!-- BEGIN GENERATED: x -->\nold x\n<!-- END GENERATED: x -->\n"
            "<!-- BEGIN GENERATED: y -->\nold y\n<!-- END GENERATED: y -->\nb\n")
    new = odd.replace_blocks(text, {"x": "new x\n"})
    assert "new x\n" in new and "old x" not in new and "old y" in new
    assert new.startswith("a\n") and new.endswith("b\n")
    with pytest.raises(KeyError, match="z"):
        odd.replace_blocks(text, {"z": "?\n"})


def test_the_time_series_so_far_is_the_first_rows_of_the_whole_run(cpsu_small):
    """The ledger (numbers per month, columns built when asked) gives any part of a run the
    same table as the whole run's first rows, the crisis columns only once there is one."""
    from allegiance.engine import Runner
    from allegiance.models.cpsu import CpsuModel

    whole = cpsu_small.timeseries
    runner = Runner(CpsuModel(load_scenario("cpsu"), seed=cpsu_small.manifest["seed"],
                              scale=SMALL))
    runner.advance(400)
    part = runner.timeseries()
    crisis = [c for c in whole.columns if c.startswith("crisis_")]
    assert crisis and not any(c.startswith("crisis_") for c in part.columns)
    pd.testing.assert_frame_equal(part, whole.drop(columns=crisis).iloc[:400],
                                  check_exact=True)
    runner.advance()
    pd.testing.assert_frame_equal(runner.timeseries(), whole, check_exact=True)
    crisis_rows = whole[crisis].notna().all(axis=1)
    assert crisis_rows.sum() == 1 and whole.loc[crisis_rows, "date"].item() == "1991-08"
