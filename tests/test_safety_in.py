"""Bad input never gets a traceback (issue 21, the input side): every command-line usage error,
unreadable file, value that would validate but crash, seed, thread count, scale and design size
outside its rule is refused with exit status 2 and one line naming the key and what is allowed.

Most tests call the CLI's ``main()`` in this process (only parsing and validation run, never a
simulation), so the fuzzing at the end stays fast.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import sys
import typing

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allegiance
from allegiance import cli as cli_mod
from allegiance.errors import AllegianceError, ScenarioError
from allegiance.limits import MAX_RUNS, SEED_MAX
from allegiance.registry import MODELS
from allegiance.scenario import MAX_DEPTH, NUMBER_LIMIT, load_raw, load_scenario
from cli_errors import one_line_error
from conftest import cli


class Outcome:
    """What ``allegiance ARGS`` did in this process (as ``subprocess.CompletedProcess``)."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def main(*args: str) -> Outcome:
    """Run the CLI's entry point in this process and capture what it printed."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["allegiance", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli_mod.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return Outcome(code, out.getvalue(), err.getvalue())


def line_of(*args: str) -> str:
    """The one line a refused command printed (exit 2, no traceback)."""
    return one_line_error(main(*args))


# ---- 6: usage errors of every command ----------------------------------------------------------


def _commands() -> list[tuple[str, list[str], str | None]]:
    """(command, its required arguments, its first numeric option) for every command,
    read from the commands' signatures."""
    out = []
    for c in cli_mod.app.registered_commands:
        f = c.callback
        hints = typing.get_type_hints(f, include_extras=True)
        params = inspect.signature(f).parameters
        required = [n for n, p in params.items() if p.default is inspect.Parameter.empty]
        numeric = [n for n in params
                   if typing.get_args(hints[n])
                   and typing.get_args(hints[n])[0] in (int, float, int | None, float | None)]
        out.append((c.name or f.__name__, required, numeric[0] if numeric else None))
    return out


COMMANDS = _commands()


def test_the_commands_are_all_covered():
    names = {c for c, _, _ in COMMANDS}
    assert {"run", "validate", "ensemble", "sweep", "compare", "report", "dashboard"} <= names


@pytest.mark.parametrize(("command", "required", "numeric"), COMMANDS,
                         ids=[c for c, _, _ in COMMANDS])
def test_every_command_refuses_a_bad_flag_type_or_missing_argument_in_one_line(
        command, required, numeric):
    line = line_of(command, "--no-such-flag")
    assert "--no-such-flag" in line and f"allegiance {command} --help" in line
    if required:
        line = line_of(command)
        assert "Missing argument" in line and f"allegiance {command} --help" in line
    if numeric:
        args = ["x"] * len(required)
        flag = "--" + numeric.replace("_", "-")
        line = line_of(command, *args, flag, "abc")
        assert f"'{flag}'" in line and "Invalid value" in line


def test_an_unknown_command_suggests_the_nearest():
    line = line_of("rnu", "cpsu")
    assert "No such command 'rnu'" in line and "run" in line


def test_ctrl_c_exits_130_and_says_so(monkeypatch):
    from allegiance import scenario

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(scenario, "load_scenario", interrupted)
    r = main("validate", "cpsu")
    assert r.returncode == 130 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "error: interrupted; no result was written"


def test_bare_command_still_shows_the_help():
    r = main()
    assert r.returncode == 2 and "Usage:" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


# ---- 7: unreadable input -----------------------------------------------------------------------


def test_a_binary_or_non_utf8_scenario_is_one_line(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)))
    assert "not a text file in UTF-8" in line_of("validate", str(binary))
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "Größe"\n'.encode("latin-1"))
    line = line_of("run", str(latin))
    assert "latin.toml: not a text file in UTF-8" in line


@pytest.mark.parametrize("nested", ["x = " + "[" * 3000 + "]" * 3000,
                                    "x = " + "{a = " * 2000 + "1" + "}" * 2000,
                                    "x = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)])
def test_deeply_nested_toml_is_one_line(tmp_path, nested):
    deep = tmp_path / "deep.toml"
    deep.write_text(f'model = "granovetter"\nname = "d"\n{nested}\n')
    line = line_of("validate", str(deep))
    assert f"nested too deep (allowed: at most {MAX_DEPTH} levels)" in line
    line = line_of("validate", "granovetter", "--set", nested.replace(" ", ""))
    assert "nested too deep" in line


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    return allegiance.run("granovetter").save(tmp_path_factory.mktemp("r") / "g")


def _damaged(result_dir, tmp_path, name: str, content: bytes | None):
    import shutil

    d = tmp_path / "damaged"
    shutil.copytree(result_dir, d)
    if content is None:
        (d / name).unlink()
    else:
        (d / name).write_bytes(content)
    return d


@pytest.mark.parametrize(("name", "content", "said"), [
    ("timeseries.parquet", b"PAR1 truncated", "timeseries.parquet': not a readable Parquet"),
    ("events.parquet", None, "events.parquet': missing"),
    ("summary.json", b"{not json", "summary.json': malformed JSON"),
    ("summary.json", b"\xff\xfe", "summary.json': not a text file in UTF-8"),
])
def test_report_and_load_of_a_damaged_result_are_one_line(result_dir, tmp_path, name, content,
                                                           said):
    d = _damaged(result_dir, tmp_path, name, content)
    if name.endswith(".parquet") and content is not None:
        # truncate the real file rather than replace it: the footer is what goes missing
        data = (result_dir / name).read_bytes()
        (d / name).write_bytes(data[: len(data) // 2])
    assert said in line_of("report", str(d), "-o", str(tmp_path / "r.html"))
    with pytest.raises(AllegianceError, match=said.split("'")[0]):
        allegiance.load(d)
    assert not (tmp_path / "r.html").exists()


def test_report_of_a_missing_directory_is_one_line(tmp_path):
    assert "no such directory" in line_of("report", str(tmp_path / "nothing"))


@pytest.mark.parametrize(("csv", "said"), [
    ("date,value\n1920-01,5\n1921-xx,7\n", "line 3: date = '1921-xx': allowed: a date"),
    ("date,value\n1920-01,5\n1921-01\n", "line 3: expected 2 fields date,value"),
    ("date,value\n1920-01,5,9\n", "line 2: expected 2 fields date,value"),
    ("date,value\n1920-01,abc\n", "line 2: value = 'abc': allowed: a finite number"),
    ("date,value\n1920-01,inf\n", "line 2: value = 'inf': allowed: a finite number"),
    ("when,value\n1920-01,5\n", "needs columns date,value"),
])
def test_a_calibration_target_csv_with_a_bad_row_is_one_line(tmp_path, csv, said):
    from allegiance.experiments.calibrate import Target, target_points

    f = tmp_path / "target.csv"
    f.write_text(csv)
    with pytest.raises(AllegianceError, match=r"target\.data") as exc:
        target_points(Target(series="members", data=str(f)))
    assert said in str(exc.value) and "\n" not in str(exc.value)
    f.write_bytes(b"date,value\n1920-01,\xff\n")
    with pytest.raises(AllegianceError, match="not a text file in UTF-8"):
        target_points(Target(series="members", data=str(f)))


def test_a_calibration_file_with_a_bad_target_row_exits_2_before_running(tmp_path):
    (tmp_path / "t.csv").write_text("date,value\n1920-01,abc\n")
    cal = tmp_path / "cal.toml"
    cal.write_text(f'scenario = "cpsu"\nscale = 1e-4\n[parameters]\n'
                   f'"levers.admission_rate" = {{ low = 0.002, high = 0.008 }}\n'
                   f'[target]\nseries = "members"\ndata = "{tmp_path / "t.csv"}"\n'
                   f'[abc]\nparticles = 4\ngenerations = 1\n')
    line = line_of("calibrate", str(cal), "--serial", "--out", str(tmp_path / "out"))
    assert "line 2: value = 'abc'" in line
    assert not (tmp_path / "out").exists()


# ---- 8: values that would validate but crash ----------------------------------------------------


@pytest.mark.parametrize(("scenario", "item", "said"), [
    ("cpsu", "initial.members=inf", "initial.members = inf: allowed: a finite number"),
    ("cpsu", "initial.members=1e30", "initial.members = 1e+30: allowed: a number from 0 to 1e+09"),
    ("granovetter", "thresholds.mean=inf", "thresholds.mean = inf: allowed: a finite number"),
    ("granovetter", "thresholds.mean=-1e300", "allowed: a number from -1e+09 to 1e+09"),
    ("ishigami", "inputs.x1=inf", "inputs.x1 = inf: allowed: a finite number"),
    ("ishigami", "inputs.x1=nan", "inputs.x1 = nan: allowed: a finite number"),
    ("epstein_run1", "params.max_jail_term=1e30", "params.max_jail_term = 1e+30: "),
    ("epstein_run1", "params.max_jail_term=9223372036854775807",
     "params.max_jail_term = 9223372036854775807: allowed: a number from -1e+09 to 1e+09"),
    ("cpsu", "mechanisms.legitimacy.rate=inf", "mechanisms.legitimacy.rate = inf"),
    ("cpsu", "model=[]", "model = []: allowed: cpsu, granovetter"),
])
def test_values_that_would_crash_a_run_do_not_validate(scenario, item, said):
    assert said in line_of("validate", scenario, "--set", item)
    assert said in line_of("run", scenario, "--set", item)


def test_a_table_where_a_union_value_belongs_is_one_line(tmp_path):
    # max_jail_term is an integer or "inf": both alternatives refuse a table, on one line
    # that names the key (found by the fuzzing test below)
    f = tmp_path / "t.toml"
    f.write_text('base = "epstein_run1"\n[params.max_jail_term]\nzz = 1\n')
    line = line_of("validate", str(f))
    assert "params.max_jail_term = a table: " in line and "inf" in line
    assert "max_jail_term.int" not in line


def test_a_scenario_file_with_model_a_list_is_one_line(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('model = []\nname = "m"\n')
    assert "model = []: allowed: cpsu" in line_of("validate", str(f))


def _numeric_leaves(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _numeric_leaves(v, f"{prefix}{k}.")
        elif isinstance(v, int | float) and not isinstance(v, bool):
            yield f"{prefix}{k}"


@pytest.mark.parametrize("name", ["cpsu", "granovetter", "kuran", "emperor", "ishigami",
                                  "epstein_run1", "epstein2_coexist"])
def test_every_number_of_every_model_must_be_finite_and_limited(name):
    """The rule is in the shared base schema: no number of any model takes inf, nan or a
    size past its range."""
    keys = list(_numeric_leaves(load_scenario(name).to_dict()))
    assert keys
    sc = load_scenario(name)
    for i, key in enumerate(keys):
        # every key refuses inf; each other bad value is tried on a share of the keys (fast)
        bad = (math.inf, -math.inf, math.nan, 1e300, True)[0 if i % 2 else 1 + i // 2 % 4]
        for value in {math.inf, bad}:
            with pytest.raises(ScenarioError) as exc:
                load_scenario(sc, {key: value})
            assert len(exc.value.messages) == 1, (key, value, exc.value.messages)
            assert key.rsplit(".", 1)[-1] in exc.value.messages[0], (key, value)
    assert NUMBER_LIMIT == 1e9


# ---- 9: seeds, threads, scales, design sizes ----------------------------------------------


@pytest.mark.parametrize("command", [["run", "granovetter"], ["compare", "cpsu", "cpsu"],
                                     ["ensemble", "granovetter"], ["ablate", "cpsu"]])
@pytest.mark.parametrize("seed", ["-1", str(2**63), str(2**64)])
def test_one_rule_for_seeds_on_the_command_line(command, seed):
    line = line_of(*command, "--seed", seed)
    assert "'--seed'" in line


def test_one_rule_for_seeds_in_the_api(tmp_path):
    from allegiance.experiments.ensemble import ensemble
    from allegiance.experiments.executors import SerialExecutor

    for seed in (-1, 2**63, 2**64, 1.5):
        with pytest.raises(AllegianceError, match=r"seed = .*allowed: an integer from 0 to 2\^63"):
            allegiance.run("granovetter", seed=seed)
        with pytest.raises(AllegianceError, match=r"seed = .*allowed: an integer from 0"):
            ensemble("granovetter", 2, SerialExecutor(), seed=seed, out=tmp_path / "e")
    assert not (tmp_path / "e").exists()
    assert allegiance.run("granovetter", seed=SEED_MAX).manifest["seed"] == SEED_MAX


def test_threads_zero_is_refused_and_too_many_are_said(tmp_path):
    import numba

    assert "'--threads'" in line_of("run", "granovetter", "--threads", "0")
    with pytest.raises(AllegianceError, match="threads = 0: allowed: 1 or more"):
        allegiance.run("granovetter", threads=0)
    r = cli("run", "granovetter", "--threads", "1000", "--out", str(tmp_path / "t"), "--quiet",
            "--no-figures")
    assert r.returncode == 0, r.stderr
    top = numba.config.NUMBA_NUM_THREADS
    assert f"warning: --threads 1000: this machine allows at most {top}; using {top}" \
        in r.stderr
    assert allegiance.load(tmp_path / "t").manifest["threads"] == top


@pytest.mark.parametrize("scale", ["1e-300", "1e-7"])
def test_a_scale_leaving_too_few_agents_is_refused(scale, tmp_path):
    for line in (line_of("run", "cpsu", "--scale", scale, "--out", str(tmp_path / "o")),
                 line_of("validate", "cpsu", "--set", f"run.scale={scale}"),
                 line_of("ensemble", "cpsu", "--scale", scale, "--serial", "--out",
                         str(tmp_path / "e"))):
        assert f"run.scale = {float(scale):g}: leaves" in line
        assert "allowed: a scale that gives at least 100 agents" in line
    assert not (tmp_path / "o").exists() and not (tmp_path / "e").exists()
    for bad in ("0", "-1", "nan", "2"):
        line = line_of("run", "granovetter", "--scale", bad, "--out", str(tmp_path / "o"))
        assert "scale" in line and "allowed" in line


def test_design_sizes_are_estimated_and_refused_before_anything_is_allocated(tmp_path):
    from allegiance.experiments.ensemble import ensemble
    from allegiance.experiments.executors import SerialExecutor

    big = tmp_path / "big.toml"
    big.write_text('scenario = "ishigami"\n[design]\nmethod = "sobol"\nsamples = 536870912\n'
                   '[parameters]\n"inputs.x1" = {low = 0, high = 1}\n'
                   '"inputs.x2" = {low = 0, high = 1}\n')
    for command in ("sweep", "sensitivity"):
        line = line_of(command, str(big), "--serial", "--out", str(tmp_path / "o"))
        assert "2,147,483,648 runs; allowed: at most 1,000,000" in line
    fact = tmp_path / "fact.toml"
    values = "[" + ", ".join(str(i / 1000) for i in range(1000)) + "]"
    fact.write_text(f'scenario = "ishigami"\nreplicates = 2\n[parameters]\n'
                    f'"inputs.x1" = {values}\n"inputs.x2" = {values}\n')
    assert "1,000,000 points x 2 replicates: 2,000,000 runs" in line_of(
        "sweep", str(fact), "--serial", "--out", str(tmp_path / "o"))
    assert "'--runs'" in line_of("ensemble", "granovetter", "--runs", str(10**9))
    with pytest.raises(AllegianceError, match=r"ensemble: 1,000,001 runs; allowed: at most"):
        ensemble("granovetter", MAX_RUNS + 1, SerialExecutor(), out=tmp_path / "e")
    assert not (tmp_path / "o").exists() and not (tmp_path / "e").exists()


# ---- the fuzzing: generated bad input, loader and `validate` only -------------------------

FUZZ_SCENARIOS = ["cpsu", "granovetter", "kuran", "emperor", "ishigami", "epstein_run1"]
_RAW = {name: load_raw(name) for name in FUZZ_SCENARIOS}
_LEAVES = {name: list(_numeric_leaves(raw)) for name, raw in _RAW.items()}
_TABLES = {name: [""] + [f"{k}." for k, v in raw.items() if isinstance(v, dict)]
           for name, raw in _RAW.items()}

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
BAD_NUMBER = st.one_of(
    st.sampled_from([math.inf, -math.inf, math.nan]),
    st.floats(min_value=NUMBER_LIMIT * 1.5, max_value=1e308),
    st.floats(min_value=-1e308, max_value=-NUMBER_LIMIT * 1.5),
    st.integers(min_value=2 * 10**9, max_value=2**63 - 1),
    WORD, st.just([]), st.lists(WORD, min_size=1, max_size=3), st.just({"zz": 1}),
)


def _set_in(raw: dict, dotted: str, value) -> dict:
    import copy

    out = copy.deepcopy(raw)
    node = out
    *parents, last = dotted.split(".")
    for p in parents:
        node = node[p]
    node[last] = value
    return out


@st.composite
def bad_scenario_files(draw) -> bytes:
    """The bytes of a scenario file with one defect."""
    kind = draw(st.sampled_from(["bytes", "number", "unknown", "deep", "model"]))
    if kind == "bytes":
        return draw(st.binary(min_size=1, max_size=300))
    name = draw(st.sampled_from(FUZZ_SCENARIOS))
    raw = _RAW[name]
    if kind == "number":
        raw = _set_in(raw, draw(st.sampled_from(_LEAVES[name])), draw(BAD_NUMBER))
    elif kind == "unknown":
        raw = _set_in(raw, draw(st.sampled_from(_TABLES[name])) + "zz" + draw(WORD),
                      draw(st.one_of(st.integers(0, 9), WORD)))
    elif kind == "model":
        other = st.one_of(WORD.filter(lambda w: w not in MODELS), st.just([]), st.integers(),
                          st.just({}))
        raw = {**raw, "model": draw(other)}
    else:
        depth = draw(st.integers(MAX_DEPTH + 1, 2000))
        return (tomli_w.dumps(raw) + "\nzz = " + "[" * depth + "]" * depth + "\n").encode()
    try:
        return tomli_w.dumps(raw).encode()
    except (TypeError, ValueError):  # nan/inf are written as TOML's nan/inf
        raise AssertionError("tomli_w cannot write the generated scenario") from None


# 100 examples (was 150): 5 kinds of defect x 6 scenarios, ~3 files each per session; every
# kind is also checked by a named test above
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=bad_scenario_files())
def test_fuzzed_bad_scenarios_are_one_line_with_exit_2(tmp_path, data):
    f = tmp_path / "fuzz.toml"
    f.write_bytes(data)
    r = main("validate", str(f))
    if r.returncode == 0:  # max_jail_term = "inf" happens to be allowed, say
        assert "valid" in r.stdout
        return
    line = one_line_error(r)
    assert line.startswith("error: ") and len(line) < 2000
    with pytest.raises(ScenarioError):
        load_scenario(f)


BAD_OPTION = {
    "--seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=SEED_MAX + 1), WORD,
                        st.floats(allow_nan=True).filter(lambda x: not float(x).is_integer())),
    "--threads": st.one_of(st.integers(max_value=0), WORD, st.just("1.5")),
    "--scale": st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True),
                         st.just(math.nan), WORD),
    "--runs": st.one_of(st.integers(max_value=0), st.integers(min_value=MAX_RUNS + 1), WORD),
}


# 60 examples (was 100): 5 options, ~12 bad values each per session
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_fuzzed_bad_options_and_overrides_are_one_line_with_exit_2(data):
    """Every option value outside its rule is refused before anything runs."""
    flag = data.draw(st.sampled_from([*BAD_OPTION, "--set"]))
    if flag == "--set":
        name = data.draw(st.sampled_from(["cpsu", "granovetter"]))
        # (a seed allows up to 2^63 - 1: the generated sizes are seeds)
        key = data.draw(st.sampled_from([k for k in _LEAVES[name] if not k.endswith("seed")]))
        value = data.draw(BAD_NUMBER)
        text = value if isinstance(value, str) else tomli_w.dumps({"v": value})[4:].strip()
        r = main("validate", name, "--set", f"{key}={text}")
    else:
        value = data.draw(BAD_OPTION[flag])
        command = ["ensemble", "granovetter", "--serial"] if flag == "--runs" else \
            ["run", "granovetter"]
        r = main(*command, flag, str(value), "--out", "/nonexistent/never")
    one_line_error(r)
