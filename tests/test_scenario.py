"""Scenario files: validation messages name the key, the value and what is allowed."""

import pytest

from allegiance import load_scenario
from allegiance.errors import ScenarioError
from allegiance.scenario import bundled_names


def _msgs(spec, overrides=()):
    with pytest.raises(ScenarioError) as ei:
        load_scenario(spec, overrides)
    return ei.value.messages


def test_bundled_scenarios_validate():
    assert "cpsu" in bundled_names()
    for name in bundled_names():
        sc = load_scenario(name)
        assert sc.name


def test_unknown_key_did_you_mean(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('base = "cpsu"\nname = "x"\n[mechanisms.recruitment]\nselectivty_gain = 1\n')
    (m,) = _msgs(f)
    assert "mechanisms.recruitment.selectivty_gain" in m
    assert "did you mean 'selectivity_gain'" in m


def test_wrong_type_and_range_reported_together(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('base = "cpsu"\nname = "x"\n[levers]\nopenness = 3\n'
                 '[mechanisms.exit]\nhazard = "high"\n')
    msgs = _msgs(f)
    assert len(msgs) == 2
    assert any("levers.openness = 3" in m and "less than or equal to 1" in m for m in msgs)
    assert any("mechanisms.exit.hazard = 'high'" in m and "number" in m for m in msgs)


def test_missing_file_and_malformed_toml(tmp_path):
    (m,) = _msgs(tmp_path / "nope.toml")
    assert "not found" in m
    (m,) = _msgs("cpsv")
    assert "did you mean 'cpsu'" in m
    f = tmp_path / "bad.toml"
    f.write_text("name = \n")
    (m,) = _msgs(f)
    assert "malformed TOML" in m


def test_set_overrides_and_unknown_set_key():
    sc = load_scenario("cpsu", ["levers.openness=0.5", "mechanisms.exit.enabled=false"])
    assert sc.levers.openness == 0.5
    assert sc.mechanisms.exit.enabled is False
    (m,) = _msgs("cpsu", ["levers.opennes=0.5"])
    assert "--set" in m and "levers.opennes" in m and "did you mean 'openness'" in m


def test_set_out_of_range_names_key():
    (m,) = _msgs("cpsu", ["run.scale=5"])
    assert "run.scale = 5" in m


def test_base_derivation_and_event_override(tmp_path):
    f = tmp_path / "cf.toml"
    f.write_text('base = "cpsu"\nname = "cf"\n[events.secret_speech]\nenabled = false\n')
    sc = load_scenario(f)
    base = load_scenario("cpsu")
    assert sc.name == "cf"
    assert sc.events["secret_speech"].enabled is False
    assert sc.events["glasnost"] == base.events["glasnost"]


def test_base_cycle_detected(tmp_path):
    (tmp_path / "a.toml").write_text('base = "b.toml"\nname = "a"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\nname = "b"\n')
    (m,) = _msgs(tmp_path / "a.toml")
    assert "cycle" in m


def test_event_type_and_lever_checked(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('base = "cpsu"\nname = "x"\n[events.e1]\ndate = "1950-13"\ntype = "lever"\n'
                 'lever = "opennes"\nvalue = 0.5\n')
    msgs = _msgs(f)
    assert any("events.e1.date" in m and "month 13" in m for m in msgs)
    assert any("events.e1.lever" in m and "openness" in m for m in msgs)


def test_purge_payload_checked(tmp_path):
    """A purge says what its share applies to: the members (share), the persons checked
    (share and checked) or a number of persons (count); bad combinations are one line each."""
    sc = load_scenario("cpsu")
    chistka = sc.events["chistka_1933"]
    assert chistka.persons() == pytest.approx(0.183 * 1_916_500)  # not 18.3 % of the party
    assert sc.events["purge_1921"].persons() is None  # a share of the members, as before
    f = tmp_path / "s.toml"
    f.write_text('base = "cpsu"\nname = "x"\n'
                 '[events.both]\ndate = "1930-01"\ntype = "purge"\nshare = 0.1\ncount = 5\n'
                 '[events.none]\ndate = "1930-01"\ntype = "purge"\nchecked = 5\n'
                 '[events.neg]\ndate = "1930-01"\ntype = "purge"\ncount = -5\n')
    msgs = _msgs(f)
    assert len(msgs) == 3 and all("\n" not in m for m in msgs)
    assert any("events.both" in m and "not both" in m for m in msgs)
    assert any("events.none" in m and "needs share" in m for m in msgs)
    assert any("events.neg.count = -5" in m for m in msgs)
    ok = load_scenario(sc, ["events.purge_1921.share=0.5", "events.purge_1921.checked=1000"])
    assert ok.events["purge_1921"].persons() == 500


def test_provenance_of_bundled_scenarios_is_complete():
    """Every parameter of a bundled scenario says where it came from (data/calibration/...)."""
    for name in bundled_names():
        sc = load_scenario(name)
        prov = sc.provenance
        dump = sc.to_dict()

        def covered(path, prov=prov):
            parts = path.split(".")
            return any(".".join(parts[:i]) in prov for i in range(len(parts), 0, -1))

        def leaves(d, prefix=""):
            for k, v in d.items():
                p = f"{prefix}{k}"
                if isinstance(v, dict) and v:
                    yield from leaves(v, p + ".")
                else:
                    yield p

        skip = ("name", "description", "model", "provenance", "ranges")
        missing = [p for p in leaves(dump) if p.split(".")[0] not in skip and not covered(p)]
        assert not missing, f"{name}: no provenance for {missing[:5]}"


def test_counterfactual_provenance_quotes_the_base_as_it_is():
    """A counterfactual's provenance that quotes the historical value of what it changes
    ("historical run: 0", "historical 0.008") must quote the base scenario's current value:
    recalibrating the base must not leave a counterfactual describing a run that is no longer
    there (issue 15, item 6)."""
    import re
    import tomllib
    from importlib.resources import files

    quoted = re.compile(r"historical(?: run)?:? (-?[0-9]+(?:\.[0-9]+)?)")
    checked = 0
    for name in bundled_names():
        raw = tomllib.loads(files("allegiance.scenarios").joinpath(f"{name}.toml").read_text())
        if "base" not in raw:
            continue
        base = load_scenario(raw["base"]).to_dict()
        for key, text in raw.get("provenance", {}).items():
            for m in quoted.finditer(text):
                node = base
                for part in key.split("."):
                    node = node[part]
                if isinstance(node, dict):
                    node = node["value"]
                assert float(m.group(1)) == pytest.approx(float(node)), (name, key, text)
                checked += 1
    assert checked >= 4  # the remedies' "historical run: 0" quotes are checked


# ---- plausible ranges of assumed parameters ([ranges]) -----------------------------------------


def test_every_assumed_parameter_of_a_ranged_scenario_has_a_range():
    """A bundled scenario with a [ranges] table gives one to every numeric parameter it writes
    whose provenance says 'assumption' (so `sensitivity --assumed` covers them all)."""
    from allegiance.scenario import assumed_parameters, load_raw

    ranged = 0
    for name in bundled_names():
        sc = load_scenario(name)
        if not getattr(sc, "ranges", None):
            continue
        ranged += 1
        missing = [k for k in assumed_parameters(load_raw(name)) if k not in sc.ranges]
        assert not missing, f"{name}: assumed parameters without a range: {missing}"
        for key, r in sc.ranges.items():
            assert r.why.strip(), f"{name}: ranges.{key} says no why"
    assert ranged >= 2  # cpsu (and its counterfactuals) and ishigami
    assert len(load_scenario("cpsu").ranges) >= 40


def test_range_problems_name_the_key(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('base = "cpsu"\nname = "x"\n[ranges]\n'
                 '"mechanisms.crisis.sprad" = { range = [0, 1], why = "w" }\n'
                 '"levers.admission_rate" = { range = [0, 0.1], why = "w" }\n'
                 '"mechanisms.exit.w_safe" = { range = [0.6, 0.9], why = "w" }\n'
                 '"run.engine" = { range = [0, 1], why = "w" }\n')
    msgs = _msgs(f)
    text = "\n".join(msgs)
    assert "ranges.mechanisms.crisis.sprad: no parameter" in text
    assert "ranges.levers.admission_rate: its provenance ('levers.admission_rate') says " \
        "'calibration'" in text
    assert "ranges.mechanisms.exit.w_safe: the value 0.5 lies outside the range [0.6, 0.9]" in text
    assert "ranges.run.engine: 'run.engine' is str" in text
    f.write_text('base = "cpsu"\nname = "x"\n[ranges]\n'
                 '"mechanisms.exit.quiet" = { range = [0.5, 0.1], why = "w" }\n')
    assert _msgs(f) == ["ranges.mechanisms.exit.quiet.range = [0.5, 0.1]: allowed: [lo, hi] "
                        "with lo < hi"]


def test_a_value_set_outside_its_range_drops_the_range(tmp_path):
    sc = load_scenario("cpsu", ["mechanisms.crisis.spread=0.45", "mechanisms.crisis.margin=0.15"])
    assert "mechanisms.crisis.spread" not in sc.ranges  # taken outside: the range is dropped
    assert sc.ranges["mechanisms.crisis.margin"].range == (0.05, 0.2)
    assert load_scenario(sc.to_dict()).digest() == sc.digest()  # the resolved scenario re-loads
    f = tmp_path / "cf.toml"  # a derived file (a counterfactual) likewise
    f.write_text('base = "cpsu"\nname = "cf"\n[levers]\nexit_cost = 2.0\n')
    assert "levers.exit_cost" not in load_scenario(f).ranges
    assert "levers.exit_cost" in load_scenario("cpsu").ranges


def test_a_file_edited_between_loads_is_read_again(tmp_path):
    """Parsed files are kept by their contents: an edit is seen even within the file
    system's time resolution, and a caller changing the table it got does not change what
    the next caller gets."""
    import os

    from allegiance.scenario import read_toml

    f = tmp_path / "s.toml"
    f.write_text('base = "cpsu"\nname = "x"\n[mechanisms.ritual]\ndecay = 0.02\n')
    first = read_toml(f)
    first["mechanisms"]["ritual"]["decay"] = 99.0
    assert read_toml(f)["mechanisms"]["ritual"]["decay"] == 0.02
    assert load_scenario(f).mechanisms.ritual.decay == 0.02
    st = f.stat()
    f.write_text('base = "cpsu"\nname = "x"\n[mechanisms.ritual]\ndecay = 0.03\n')
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same time and size: still seen
    assert load_scenario(f).mechanisms.ritual.decay == 0.03
    f.write_text('base = "cpsu"\nname = "x"\n[mechanisms.ritual]\ndecay = 0.02\n')
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # back to the first contents
    assert load_scenario(f).mechanisms.ritual.decay == 0.02
