"""Where commands may write (issue 21): unsafe names and paths, two writers, resuming into
something else, half-written files, stale partial folders, orphan workers, unwritable or full
disks, and links in a result's figures. One test per defect; each failed before the fix.

Small classic scenarios (granovetter, ishigami) keep them fast.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from cli_errors import one_line_error
from conftest import cli

SWEEP = """
scenario = "ishigami"
seed = 1
outcomes = ["y"]
[parameters.inputs]
x1 = [0.0, 1.0]
"""


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run the command line in this process (to stand in for a full disk, or to fail if it
    simulates); returns (exit status, stderr)."""
    from allegiance import cli as cli_mod

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(sys, "argv", ["allegiance", *args])
    try:
        with pytest.raises(SystemExit) as exc:
            cli_mod.main()
    finally:
        signal.signal(signal.SIGTERM, before)
    return exc.value.code, capsys.readouterr().err


def _leftovers(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith("."))


# -- 1: a name or a spelling of --out that reaches another directory ----------------------------

def test_a_scenario_name_must_be_a_slug(tmp_path):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    victim = tmp_path / "a" / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep")
    (work / "evil.toml").write_text('base = "granovetter"\nname = "../../../victim"\n')
    line = one_line_error(cli("run", "evil.toml", "--quiet", cwd=work))
    assert "name = '../../../victim'" in line and "allowed" in line
    r = cli("validate", "evil.toml", cwd=work)
    assert r.returncode == 2 and "name = '../../../victim'" in r.stderr
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]
    assert not (work / "runs").exists()
    # the same for a sweep file's name (its default output is runs/<name>)
    (work / "s.toml").write_text('name = "../x"\n' + SWEEP)
    assert "name = '../x'" in one_line_error(cli("sweep", "s.toml", "--serial", cwd=work))


def test_out_through_a_missing_directory_never_replaces_one(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    victim = tmp_path / "victim2"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep")
    line = one_line_error(cli("run", "granovetter", "--quiet", "--out", "nonexist/../../victim2",
                              cwd=work))
    assert "exists" in line and "--force" in line
    # --force replaces only what an allegiance command wrote, and never the current directory
    line = one_line_error(cli("run", "granovetter", "--quiet", "--force", "--out",
                              "nonexist/../../victim2", cwd=work))
    assert "not an allegiance output directory" in line
    assert (victim / "precious.txt").read_text() == "keep"
    assert "current directory" in one_line_error(
        cli("run", "granovetter", "--quiet", "--force", "--out", ".", cwd=work))
    assert sorted(os.listdir(work)) == []  # no nonexist/, no lock file left


# -- 2 and 5: two writers of one --out ----------------------------------------------------------

def test_a_second_writer_of_the_same_out_is_refused(tmp_path):
    # two at once: one writes, the other is refused (locked out, or finds it written)
    cmd = [sys.executable, "-m", "allegiance", "run", "granovetter", "--quiet", "--out", "same"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    errs = [p.communicate()[1] for p in procs]
    results = sorted((p.returncode, err) for p, err in zip(procs, errs, strict=True))
    assert [code for code, _ in results] == [0, 2], results
    assert ("another allegiance process is writing same" in results[1][1]
            or "exists" in results[1][1])
    from allegiance.outdir import claim_output

    (tmp_path / "s.toml").write_text(SWEEP)
    with claim_output(tmp_path / "r"):  # what a first `allegiance run --out r` holds
        line = one_line_error(cli("run", "granovetter", "--quiet", "--out", "r"))
        assert "another allegiance process is writing r" in line
    assert not (tmp_path / "r").exists()
    r = cli("sweep", "s.toml", "--out", "e", "--serial", "--quiet")
    assert r.returncode == 0, r.stderr
    with claim_output(tmp_path / "e", resume=True, atomic=False):  # a first --resume
        line = one_line_error(cli("sweep", "s.toml", "--out", "e", "--resume", "--serial"))
        assert "another allegiance process is writing e" in line
    # released when the holder ends: the lock file is gone, the next writer goes ahead
    assert not (tmp_path / ".e.lock").exists()
    r = cli("sweep", "s.toml", "--out", "e", "--resume", "--serial", "--quiet")
    assert r.returncode == 0, r.stderr


# -- 3: --resume into something that is not the same experiment ---------------------------------

def test_resume_only_into_the_same_kind_of_experiment(tmp_path):
    r = cli("run", "granovetter", "--quiet", "--out", "r")
    assert r.returncode == 0, r.stderr
    before = (tmp_path / "r" / "summary.json").read_bytes()
    line = one_line_error(cli("ensemble", "granovetter", "--runs", "2", "--serial", "--resume",
                              "--out", "r"))
    assert "not an experiment directory" in line
    assert (tmp_path / "r" / "summary.json").read_bytes() == before
    assert not (tmp_path / "r" / "experiment.json").exists()
    (tmp_path / "s.toml").write_text(SWEEP)
    assert cli("sweep", "s.toml", "--out", "sw", "--serial", "--quiet").returncode == 0
    line = one_line_error(cli("ensemble", "ishigami", "--runs", "2", "--serial", "--resume",
                              "--out", "sw"))
    assert "holds a sweep, not this ensemble" in line


# -- 4: half-written files and stale partial folders --------------------------------------------

def test_a_failed_write_leaves_no_half_file(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from allegiance.errors import AllegianceError
    from allegiance.experiments.ensemble import ensemble
    from allegiance.experiments.executors import SerialExecutor

    real = pq.write_table

    def full_disk(table, where, **kw):
        if "bands.parquet" in str(where):
            with open(where, "wb") as fh:  # a few bytes, then the disk is full
                fh.write(b"PAR1")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", full_disk)
    with pytest.raises(AllegianceError, match="No space left on device"):
        ensemble("ishigami", 2, SerialExecutor(), out=tmp_path / "e", figures=False)
    e = tmp_path / "e"
    assert (e / "runs.parquet").is_file()
    assert not (e / "bands.parquet").exists() and not (e / "summary.json").exists()
    assert _leftovers(e) == [] and _leftovers(tmp_path) == []


def test_stale_partials_are_removed_and_said(tmp_path):
    (tmp_path / ".r.partial-deadbeef").mkdir()  # a run killed while simulating
    (tmp_path / ".r.partial-deadbeef" / "timeseries.parquet").write_bytes(b"PAR1")
    r = cli("run", "granovetter", "--quiet", "--out", "r")
    assert r.returncode == 0, r.stderr
    assert "removed what an interrupted run left of r" in r.stderr
    assert _leftovers(tmp_path) == []
    (tmp_path / "s.toml").write_text(SWEEP)
    assert cli("sweep", "s.toml", "--out", "e", "--serial", "--quiet").returncode == 0
    (tmp_path / "e" / ".runs.parquet.tmp-0badf00d").write_bytes(b"")  # killed mid-write
    r = cli("sweep", "s.toml", "--out", "e", "--serial", "--quiet", "--resume")
    assert r.returncode == 0 and ".runs.parquet.tmp-0badf00d" in r.stderr
    assert _leftovers(tmp_path / "e") == []


# -- 5: workers die with the command ------------------------------------------------------------

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process tree via /proc")
@pytest.mark.parametrize(("sig", "dask"), [("SIGKILL", False), ("SIGTERM", False),
                                         ("SIGKILL", True)])
def test_pool_workers_die_when_the_command_is_killed(tmp_path, sig, dask):
    """... the process pool's workers watch the command; a Dask LocalCluster's workers end
    with their nannies in the command (distributed's own pipe to the parent)."""
    import psutil

    (tmp_path / "many.toml").write_text(SWEEP.replace("seed = 1", "seed = 1\nreplicates = 5000"))
    proc = subprocess.Popen([sys.executable, "-m", "allegiance", "sweep", "many.toml", "--out",
                             "o", "--workers", "2", "--quiet", *(["--dask"] if dask else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = tmp_path / "o" / "index.jsonl"
    try:
        while proc.poll() is None and not (index.is_file() and index.stat().st_size > 0):
            time.sleep(0.05)  # the workers are running runs
        assert proc.poll() is None, "the sweep finished before it could be killed"
        family = psutil.Process(proc.pid).children(recursive=True)
        assert len(family) >= 2
        os.kill(proc.pid, getattr(signal, sig))
        proc.wait()
    finally:
        proc.kill()
        proc.wait()
    # generous: a worker notices within a second; the fork server and resource tracker follow
    _, alive = psutil.wait_procs(family, timeout=60)
    for p in alive:
        p.kill()
    assert not alive, [p.pid for p in alive]
    if sig == "SIGTERM":  # stopped like Ctrl-C: the lock given back, finished runs kept
        assert not (tmp_path / ".o.lock").exists() and index.stat().st_size > 0


# -- 10: an unwritable --out, a full disk -------------------------------------------------------

def test_an_unwritable_out_fails_before_simulating(tmp_path, monkeypatch, capsys):
    import allegiance.api

    def must_not_run(*a, **k):
        raise AssertionError("simulated although the output cannot be written")

    monkeypatch.setattr(allegiance.api, "run", must_not_run)
    (tmp_path / "afile").write_text("")
    places = ["afile/r"]
    if sys.platform.startswith("linux"):
        places.append("/proc/allegiance-nowhere/r")  # a pseudo-filesystem
    if os.geteuid() != 0:  # root writes anywhere
        (tmp_path / "ro").mkdir(mode=0o500)
        places.append("ro/r")
    for out in places:
        code, err = _main(monkeypatch, capsys, "run", "granovetter", "--quiet", "--out", out)
        lines = [x for x in err.strip().splitlines() if x.strip()]
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
        assert out in lines[0] and "cannot" in lines[0]


def test_a_full_disk_mid_write_is_one_line_and_nothing_finished(tmp_path, monkeypatch, capsys):
    import pyarrow.parquet as pq

    def full_disk(table, where, **kw):
        with open(where, "wb") as fh:
            fh.write(b"PAR1")
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space "
                                    "left on device")

    monkeypatch.setattr(pq, "write_table", full_disk)
    code, err = _main(monkeypatch, capsys, "run", "granovetter", "--quiet", "--out", "r")
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "--out r" in lines[0] and "No space left on device" in lines[0]
    assert sorted(os.listdir(tmp_path)) == []  # no r, no partial folder, no lock file


# -- 13: report embeds only regular files inside the result -------------------------------------

def test_report_does_not_follow_links_out_of_the_result(tmp_path):
    import base64

    from allegiance import report

    r = cli("run", "granovetter", "--quiet", "--out", "r", "--no-figures")
    assert r.returncode == 0, r.stderr
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"SECRET-OUTSIDE-THE-RUN" * 4)
    figs = tmp_path / "r" / "figures"
    figs.mkdir()
    (figs / "leak.png").symlink_to(secret)
    toml = tmp_path / "r" / "scenario.toml"
    (tmp_path / "outside.toml").write_text('secret = "SECRET-TOML"\n' + toml.read_text())
    toml.unlink()
    toml.symlink_to(tmp_path / "outside.toml")
    html = report.build(tmp_path / "r")
    assert base64.b64encode(secret.read_bytes()).decode()[:40] not in html
    assert "leak" not in html and "SECRET-TOML" not in html
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["scenario_name"] in html
