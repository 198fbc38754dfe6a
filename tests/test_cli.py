"""The command line: help, version, runs, and one-line errors with exit code 2."""

import contextlib
import json
import os
import threading

import pytest

from conftest import cli


def _one_line_error(r):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_help_and_version():
    r = cli("--help")
    assert r.returncode == 0
    for cmd in ("run", "validate", "scenarios"):
        assert cmd in r.stdout
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("allegiance ")


def test_scenarios_lists_bundled():
    r = cli("scenarios")
    assert r.returncode == 0
    assert "cpsu" in r.stdout


def test_run_writes_results_and_refuses_overwrite(tmp_path):
    out = tmp_path / "r"
    r = cli("run", "cpsu", "--scale", "0.0001", "--seed", "2", "--out", str(out), "--quiet",
            "--set", "run.end=1925-12")
    assert r.returncode == 0, r.stderr
    for f in ("manifest.json", "timeseries.parquet", "events.parquet", "summary.json",
              "scenario.toml", "figures/members_vs_data.png"):
        assert (out / f).is_file()
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 2 and m["scale"] == 0.0001 and m["scenario"]["run"]["end"] == "1925-12"
    line = _one_line_error(cli("run", "cpsu", "--scale", "0.0001", "--out", str(out), "--quiet"))
    assert "exists" in line and "--force" in line
    # the saved scenario reruns to the same bytes (test_reproduce), so its figures would be
    # the ones drawn above: --no-figures (each drawing took 7 of this test's 28 s)
    r = cli("run", str(out / "scenario.toml"), "--out", str(out), "--force", "--quiet",
            "--scale", "0.0001", "--seed", "2", "--no-figures")
    assert r.returncode == 0, r.stderr
    assert (out / "manifest.json").is_file() and not (out / "figures").exists()  # replaced


def test_bad_inputs_give_one_line_and_exit_2(tmp_path):
    line = _one_line_error(cli("run", str(tmp_path / "missing.toml")))
    assert "missing.toml" in line and "not found" in line
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [\n")
    assert "malformed TOML" in _one_line_error(cli("run", str(bad)))
    typo = tmp_path / "typo.toml"
    typo.write_text('base = "cpsu"\nname = "t"\n[levers]\nopeness = 0.4\n')
    line = _one_line_error(cli("run", str(typo)))
    assert "levers.openess" in line and "did you mean 'openness'" in line
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('base = "cpsu"\nname = "t"\n[levers]\nopenness = "lots"\n')
    assert "levers.openness = 'lots'" in _one_line_error(cli("run", str(wrong)))
    assert "levers.openness = 7" in _one_line_error(
        cli("run", "cpsu", "--set", "levers.openness=7"))
    line = _one_line_error(cli("run", "cpsu", "--set", "mechanisms.exitt.hazard=1"))
    assert "mechanisms.exitt.hazard" in line and "did you mean 'exit'" in line


# ---- a scenario read from a pipe (`cat s.toml | allegiance validate /dev/stdin`, <(...)) ----

needs_pipes = pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/stdin"),
                                 reason="named pipes and /dev/stdin are POSIX")


def _bundled_text(name: str) -> str:
    from allegiance.scenario import bundled_path

    return bundled_path(name).read_text(encoding="utf-8")


def _digest(name: str) -> str:
    import allegiance

    return allegiance.load_scenario(name).digest()[:12]


@needs_pipes
def test_a_scenario_piped_to_dev_stdin_validates_and_runs(tmp_path):
    text = _bundled_text("granovetter")
    r = cli("validate", "/dev/stdin", input=text)
    assert r.returncode == 0, r.stderr
    # the text came through whole: the same scenario as the bundled file
    assert (f"/dev/stdin: valid granovetter scenario 'granovetter' "
            f"(sha256 {_digest('granovetter')})") in r.stdout
    out = tmp_path / "r"
    r = cli("run", "/dev/stdin", "--out", str(out), "--quiet", "--no-figures", input=text)
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["scenario_name"] == "granovetter"


@needs_pipes
@pytest.mark.parametrize(("text", "said"), [
    ('base = "granovetter"\n[run]\nseed = -1\n',
     "/dev/stdin: run.seed = -1: Input should be greater than or equal to 0"),
    ('model = "nope"\n', "/dev/stdin: model = 'nope': allowed: cpsu, granovetter"),
    ("name = [\n", "malformed TOML"),
    ("", "/dev/stdin: model: required key is missing"),
])
def test_a_bad_scenario_piped_to_dev_stdin_is_one_line(text, said):
    line = _one_line_error(cli("validate", "/dev/stdin", input=text))
    assert said in line, line


@needs_pipes
@pytest.mark.parametrize("args", [
    ["ensemble", "/dev/stdin", "--runs", "2", "--serial", "--quiet", "--no-figures"],
    ["sweep", "--assumed", "/dev/stdin", "--samples", "2", "--serial", "--quiet"],
], ids=["ensemble", "sweep-assumed"])
def test_commands_that_run_many_read_a_piped_scenario_once(tmp_path, args):
    # these loaded the scenario to check it, then again to plan the runs: the second read of
    # a pipe found it empty ("model: required key is missing")
    name = "granovetter" if args[0] == "ensemble" else "ishigami"
    out = tmp_path / "out"
    r = cli(*args, "--out", str(out), input=_bundled_text(name))
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "experiment.json").read_text())
    assert meta["scenario"]["name"] == name


def _named_pipe(path, text: str) -> threading.Thread:
    """A FIFO at ``path`` that a thread fills with ``text`` once a reader opens it."""
    os.mkfifo(path)

    def write():
        with contextlib.suppress(OSError), open(path, "w", encoding="utf-8") as fh:
            fh.write(text)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


def _unblock(path, writer: threading.Thread) -> None:
    """Let a writer that no reader came for go (its open returns, its write fails)."""
    if writer.is_alive():
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
    writer.join(5)


@needs_pipes
def test_a_scenario_from_a_named_pipe_is_read_as_a_file(tmp_path):
    from allegiance.errors import ScenarioError
    from allegiance.scenario import load_scenario

    folder = tmp_path / "in"  # not the current directory: a base is found beside the pipe
    folder.mkdir()
    (folder / "mine.toml").write_text(_bundled_text("granovetter"))
    fifo = folder / "piped.toml"
    writer = _named_pipe(fifo, 'base = "mine.toml"\nname = "piped"\n[run]\nseed = 5\n')
    try:
        sc = load_scenario(str(fifo))
    finally:
        _unblock(fifo, writer)
    assert (sc.name, sc.model, sc.run.seed) == ("piped", "granovetter", 5)
    fifo.unlink()
    writer = _named_pipe(fifo, 'base = "mine.toml"\n[run]\nseed = -1\n')
    try:
        with pytest.raises(ScenarioError) as exc:
            load_scenario(str(fifo))
    finally:
        _unblock(fifo, writer)
    assert exc.value.messages == ["run.seed = -1: Input should be greater than or equal to 0"]


def test_a_directory_is_still_not_a_scenario_file(tmp_path):
    line = _one_line_error(cli("validate", str(tmp_path)))
    assert f"scenario file '{tmp_path}' not found" in line


def test_impossible_size_is_refused():
    line = _one_line_error(cli("run", "cpsu", "--scale", "1", "--quiet",
                               env={"ALLEGIANCE_AVAILABLE_MEMORY": str(2**30)}))
    assert "scale 1" in line and "GiB" in line
    line = _one_line_error(cli("run", "cpsu", "--scale", "2"))
    assert "run.scale" in line or "scale" in line


def test_validate_reports_all_errors(tmp_path):
    f = tmp_path / "many.toml"
    f.write_text('base = "cpsu"\nname = "m"\n[levers]\nopenness = 9\nprivlege = 0.1\n'
                 '[run]\nscale = -1\n')
    r = cli("validate", str(f))
    assert r.returncode == 2
    assert "3 problems" in r.stderr
    assert "levers.openness" in r.stderr and "privlege" in r.stderr and "run.scale" in r.stderr
    assert "Traceback" not in r.stderr
    ok = cli("validate", "cpsu")
    assert ok.returncode == 0 and "valid" in ok.stdout


def test_tests_run_outside_the_working_tree(tmp_path):
    """The default output directory (runs/<name>) lands in the test's own directory."""
    from pathlib import Path

    from conftest import ROOT

    assert Path.cwd() == tmp_path and ROOT not in Path.cwd().parents
    r = cli("run", "granovetter", "--quiet", "--no-figures")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "runs" / "granovetter" / "manifest.json").is_file()


def test_the_working_tree_guard_sees_new_files(tmp_path):
    from conftest import _tree

    (tmp_path / "src").mkdir()
    before = _tree(tmp_path)
    (tmp_path / "runs" / "cpsu").mkdir(parents=True)
    (tmp_path / ".hidden").write_text("")  # caches and tool state are ignored
    assert _tree(tmp_path) - before == {"runs", "runs/cpsu"}


def test_numbers_and_keys_for_people():
    from allegiance.readable import human, label

    assert human(0.16633953563275236) == "0.166" and human(19365000.0) == "19,365,000"
    assert human(1.9365e7) == "19,365,000" and human(0.0) == "0" and human(1600) == "1,600"
    assert human(float("nan")) == "–" and human(True) == "yes" and human("a -> b") == "a -> b"
    assert label("members_1989_01_01") == "members + candidates, 1 Jan 1989"
    assert label("committed_members_1991_07_01") == "committed members, 1 Jul 1991"
    assert label("exits_1990") == "exits during 1990"
    assert label("crisis_defenders_members") == "at the crisis: members defending"
    assert label("crisis_opponents_nonmembers") == "at the crisis: non-members opposing"
    assert label("final compliance with the norm") == "final compliance with the norm"


def test_run_summary_is_for_people(cpsu_small, capsys):
    """The table printed after a run: words, rounded numbers, a plain seed, the headline said."""
    import dataclasses
    import re
    from pathlib import Path

    from allegiance.cli import _print_summary

    keys = list(cpsu_small.summary["headline"])
    res = dataclasses.replace(cpsu_small, manifest={**cpsu_small.manifest, "seed": 1917})
    _print_summary(res, Path("runs/x"))
    out = capsys.readouterr().out
    flat = " ".join(out.split())  # rich wraps long lines
    assert "seed 1917," in flat and "1,917" not in flat
    table = "\n".join(x for x in out.splitlines() if "│" in x)
    # no raw floats (more than 3 significant digits; 0.0597 is 3), no exponents
    assert not re.search(r"\d\.0*[1-9]\d{3,}|e[+-]\d\d", table), out
    assert not any(k in out for k in keys if "_" in k), out  # keys in words
    thr = cpsu_small.scenario.mechanisms.commitment.threshold
    assert f"belief in the ideal is at least {thr:g}" in flat
    assert "members and candidates;" in flat and "% ) are committed" not in flat
    assert "out-of-sample forecast" in flat
    # the machine outputs keep their keys and full precision
    assert list(cpsu_small.summary["headline"]) == keys


def test_run_summary_of_a_classic_model(capsys):
    from pathlib import Path

    import allegiance
    from allegiance.cli import _print_summary

    _print_summary(allegiance.run("granovetter"), Path("runs/g"))
    out = capsys.readouterr().out
    assert "actors" in out and "seed 1978," in out and "Committed" not in out


def test_report_says_the_headline_in_words(cpsu_small, tmp_path):
    from allegiance.readable import headline_words
    from allegiance.report import build

    html = build(cpsu_small.save(tmp_path / "run"))
    words = headline_words(cpsu_small.summary, cpsu_small.manifest)
    assert words and all(f"<p class='headline-words'>{w}</p>" in html for w in words)
    assert f'data-key="seed">{cpsu_small.manifest["seed"]}</td>' in html  # a plain seed


@pytest.mark.parametrize("args", [
    ("run", "cpsu", "--bogus"), ("run",), ("compare", "cpsu"), ("ablate", "cpsu", "--bogus"),
    ("ablate", "cpsu", "--workers", "abc"), ("ensemble",), ("events", "cpsu", "--nope"),
])
def test_usage_errors_exit_2_without_a_traceback(args):
    """An unknown flag, a missing argument or a wrong type: the parser's message on one line
    and exit 2, whichever click the installed typer uses (newer releases carry their own
    copy)."""
    line = _one_line_error(cli(*args))
    assert line.startswith("error: ") and "--help" in line
