"""Generic calibration by ABC-SMC: ``allegiance calibrate CAL.toml [--resume]``.

A calibration file names the scenario, the parameters to fit (dotted keys with bounds, a
uniform prior), the target and its distance, and the sampler's settings::

    scenario = "cpsu"
    scale = 1e-4
    seed = 1
    set = { "run.end" = "1935-12" }

    [parameters]
    "levers.admission_rate" = { low = 0.002, high = 0.008 }

    [target]
    series = "members"       # a column of the model's time series ...
    data = "membership"      # ... against allegiance.data.membership_series() or a CSV file
    distance = "rmse_log"    # rmse_log | rmse | mae over the data points in the window
    end = "1988-12"          # the window (default: up to 1988-12-31, the out-of-sample rule)
    # or: summary = "y" and value = 3.0 (distance |summary value - value|)

    [abc]
    particles = 16
    alpha = 0.5
    generations = 4
    min_acceptance = 0.1

The sampler is the adaptive population Monte Carlo ABC of Lenormand, Jabot & Deffuant (2013,
Computational Statistics 28:2777): generation 0 draws ``particles`` points from the prior; each
later generation keeps the best ``alpha`` share, proposes the rest by perturbing kept particles
with a Gaussian kernel of twice their weighted covariance, weights the proposals by
prior / kernel density, and the tolerance becomes the largest kept distance. It stops when the
share of proposals beating the previous tolerance falls below ``min_acceptance`` or after
``generations``. Every generation is a batch of runs through the usual executors and store, and
proposals come from a generator seeded by (root seed, generation), so an interrupted
calibration resumes exactly where it stopped. Results: ``runs.parquet`` (every run with its
generation and distance), ``particles.parquet`` (the final weighted population),
``calibration.json`` (best fit; posterior mean, sd and 5/50/95 % quantiles; tolerance and
acceptance per generation) and ``figures/calibration.{png,svg}``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from .. import data as hist
from ..errors import AllegianceError
from ..outdir import slugify
from ..results import dump_json, write_parquet
from ..scenario import Frozen, KeyPathError, check_month
from .design import Range, flatten_parameters
from .executors import Executor, run_seed
from .store import RunStore, RunTask, extract, run_tasks
from .sweep import ExperimentHeader, claim_experiment


class Target(Frozen):
    """What the runs are compared with."""

    series: str | None = Field(None, description="time-series column of the model")
    data: str = Field("membership", description="'membership' or a CSV file (date,value)")
    distance: Literal["rmse_log", "rmse", "mae"] = "rmse_log"
    start: str | None = None
    end: str = hist.CALIBRATION_END
    summary: str | None = Field(None, description="dotted path into the run summary")
    value: float | None = None

    @model_validator(mode="after")
    def _one_target(self):
        if (self.series is None) == (self.summary is None):
            raise ValueError("give either series = '...' (with data) or summary = '...' "
                             "(with value)")
        if self.summary is not None and self.value is None:
            raise ValueError("summary targets need value = <number>")
        for d in (self.start, self.end):
            if d is not None:
                check_month(d)
        return self


class AbcOptions(Frozen):
    """Settings of the ABC-SMC sampler."""

    particles: int = Field(20, ge=4)
    alpha: float = Field(0.5, gt=0, lt=1, description="share of particles kept per generation")
    generations: int = Field(5, ge=1)
    min_acceptance: float = Field(0.05, ge=0, lt=1)


class CalibrationSpec(ExperimentHeader):
    """A calibration file."""

    parameters: dict[str, Range]
    target: Target
    abc: AbcOptions = AbcOptions()

    @model_validator(mode="after")
    def _some(self):
        from ..limits import MAX_RUNS

        if not self.parameters:
            raise ValueError("parameters: name at least one parameter with {low, high}")
        runs = self.abc.particles * self.abc.generations
        if runs > MAX_RUNS:
            raise KeyPathError(f"abc: {self.abc.particles:,} particles x "
                               f"{self.abc.generations:,} generations = up to {runs:,} runs; "
                               f"allowed: at most {MAX_RUNS:,}")
        return self


# ---------------------------------------------------------------------------------------------
# Distances


def target_points(t: Target) -> list[tuple[str, float]]:
    """(month label, value) of the data in the window."""
    from ..calendar import month_label, parse_month

    if t.data == "membership":
        rows = [(r["month"], r["value"]) for r in hist.membership_series()]
    else:
        import csv

        p = Path(t.data)
        if not p.is_file():
            raise AllegianceError(f"target.data = '{t.data}': not 'membership' and no such file")
        where = f"target.data = '{t.data}'"
        rows = []
        try:
            with p.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or not {"date", "value"} <= set(reader.fieldnames):
                    raise AllegianceError(f"{where}: needs columns date,value")
                for r in reader:
                    rows.append(_target_row(r, f"{where}, line {reader.line_num}"))
        except UnicodeDecodeError:
            raise AllegianceError(f"{where}: not a text file in UTF-8 (allowed: a CSV file "
                                  "with columns date,value)") from None
        except csv.Error as exc:
            raise AllegianceError(f"{where}: malformed CSV ({exc})") from None
        except OSError as exc:
            raise AllegianceError(f"{where}: cannot read: {exc.strerror}") from None
    lo = parse_month(t.start) if t.start else -(10**9)
    hi = parse_month(t.end)
    return [(month_label(m), v) for m, v in sorted(rows) if lo <= m <= hi]


def _target_row(r: dict[str, Any], where: str) -> tuple[int, float]:
    """(month, value) of one row of a target CSV; a bad row is one line naming it."""
    from ..calendar import parse_month

    date, value = r.get("date"), r.get("value")
    if date is None or value is None or None in r:
        raise AllegianceError(f"{where}: expected 2 fields date,value")
    try:
        month = parse_month(date.strip()[:10])
    except (ValueError, AllegianceError):
        raise AllegianceError(f"{where}: date = {date!r}: allowed: a date YYYY, YYYY-MM or "
                              "YYYY-MM-DD") from None
    try:
        v = float(value)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise AllegianceError(f"{where}: value = {value!r}: allowed: a finite number")
    return month, v


def series_distance(ts, t: Target, points: list[tuple[str, float]]) -> float:
    """Distance between a run's series and the data points (inf if nothing comparable)."""
    if ts is None or t.series not in ts:
        raise AllegianceError(f"target.series = '{t.series}': not a column of the model's "
                              "time series")
    by_date = dict(zip(ts["date"], ts[t.series], strict=True))
    errs = []
    for label, v in points:
        m = by_date.get(label)
        if m is None or not math.isfinite(m):
            continue
        if t.distance == "rmse_log":
            if m <= 0 or v <= 0:
                continue
            errs.append(math.log(m / v))
        else:
            errs.append(m - v)
    if not errs:
        return math.inf
    if t.distance == "mae":
        return sum(abs(e) for e in errs) / len(errs)
    return math.sqrt(sum(e * e for e in errs) / len(errs))


# ---------------------------------------------------------------------------------------------
# ABC-SMC (APMC)


def _weighted_quantile(x, w, q):
    import numpy as np

    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    cw = np.cumsum(ws) - 0.5 * ws
    cw /= ws.sum()
    return float(np.interp(q, cw, xs))


class Calibration:
    """One calibration: its spec, scenario, store and the ABC-SMC loop."""

    def __init__(self, spec: CalibrationSpec, base_dir: Path | None, source: str):
        from .sweep import check_parameters, digest, resolve_scenario

        self.spec = spec
        self.names = list(spec.parameters)
        self.ranges = [spec.parameters[n] for n in self.names]
        self.scenario = resolve_scenario(spec, base_dir, source)
        self.scenario_dict = self.scenario.to_dict()
        check_parameters(self.scenario_dict, dict(spec.parameters), source)
        self.points = target_points(spec.target) if spec.target.series else []
        if spec.target.series and not self.points:
            raise AllegianceError(f"{source}: target: no data points in the window "
                                  f"{spec.target.start or 'start'}..{spec.target.end}")
        self.digest = digest(spec.model_dump(mode="json", exclude={"out", "description"}),
                             self.scenario.digest())
        self.tasks: list[RunTask] = []
        self.generation: dict[int, int] = {}
        self.distance: dict[int, float] = {}

    def _tasks(self, thetas, gen: int) -> list[RunTask]:
        out = []
        for row in thetas:
            rid = len(self.tasks) + len(out)
            params = {n: (round(float(v)) if r.integer else float(v))
                      for n, r, v in zip(self.names, self.ranges, row, strict=True)}
            out.append(RunTask(run_id=rid, point=rid, replicate=0,
                               seed=run_seed(self.spec.seed, rid), scale=self.spec.scale,
                               scenario=self.scenario_dict, params=params,
                               keep_timeseries=self.spec.target.series is not None))
            self.generation[rid] = gen
        self.tasks += out
        return out

    def _distance(self, store: RunStore, task: RunTask) -> float:
        rec = store.records[task.run_id]
        if rec["status"] != "ok":
            return math.inf
        t = self.spec.target
        if t.summary is not None:
            v = extract(rec["summary"], t.summary)
            d = abs(float(v) - float(t.value)) if v is not None else math.inf
        else:
            import pandas as pd

            ts = pd.read_parquet(store.part_path(task.run_id), columns=["date", t.series]) \
                if t.series else None
            d = series_distance(ts, t, self.points)
        return d if math.isfinite(d) else math.inf

    def run(self, outdir: Path, executor: Executor, *, resume: bool, force: bool,
            quiet: bool) -> dict[str, Any]:
        import numpy as np

        from ..version import __version__

        spec, abc = self.spec, self.spec.abc
        meta = {"kind": "calibration", "name": spec.name, "digest": self.digest,
                "spec": spec.model_dump(mode="json"), "scenario": self.scenario_dict,
                "scenario_sha256": self.scenario.digest(), "allegiance_version": __version__}
        store = RunStore(outdir, meta, resume=resume, force=force)
        lo = np.array([r.low for r in self.ranges])
        hi = np.array([r.high for r in self.ranges])
        n = abc.particles
        n_keep = max(2, math.ceil(abc.alpha * n))
        history = []

        def batch(thetas, gen):
            tasks = self._tasks(thetas, gen)
            run_tasks(store, tasks, executor, title=f"calibrate {spec.name} gen {gen}",
                      quiet=quiet, meta={"generation": gen})
            for t in tasks:
                rec = store.records[t.run_id]
                if rec["params"] != t.params:  # the store holds another experiment's runs
                    raise AllegianceError(f"--resume {outdir}: run {t.run_id} was made with "
                                          "other parameters; use another --out or --force")
                self.distance[t.run_id] = self._distance(store, t)
            return np.array([self.distance[t.run_id] for t in tasks]), \
                np.array([t.run_id for t in tasks])

        rng = np.random.default_rng([spec.seed, 0])
        theta = lo + rng.random((n, len(lo))) * (hi - lo)
        d, ids = batch(theta, 0)
        theta = np.array([[self.tasks[i].params[k] for k in self.names] for i in ids], float)
        w = np.ones(n)
        keep = np.argsort(d, kind="stable")[:n_keep]
        theta, w, d, ids = theta[keep], w[keep], d[keep], ids[keep]
        eps = float(d.max())
        history.append({"generation": 0, "runs": n, "tolerance": eps, "acceptance": 1.0})
        for gen in range(1, abc.generations):
            rng = np.random.default_rng([spec.seed, gen])
            wn = w / w.sum()
            mean = wn @ theta
            cov = 2.0 * np.atleast_2d(((theta - mean).T * wn) @ (theta - mean))
            cov += np.eye(len(lo)) * 1e-12 * (hi - lo) ** 2  # never singular
            m = n - n_keep
            props = np.empty((m, len(lo)))
            for i in range(m):
                for _ in range(1000):  # redraw until inside the prior's box
                    j = rng.choice(len(theta), p=wn)
                    x = rng.multivariate_normal(theta[j], cov)
                    if np.all(x >= lo) and np.all(x <= hi):
                        break
                else:
                    x = np.clip(x, lo, hi)
                props[i] = x
            dn, idn = batch(props, gen)
            props = np.array([[self.tasks[i].params[k] for k in self.names] for i in idn], float)
            # importance weights prior / proposal density, comparable with the kept ones
            # (Lenormand et al. 2013, eq. 3): the prior is uniform on the box
            inv = np.linalg.inv(cov)
            norm = 1.0 / math.sqrt((2 * math.pi) ** len(lo) * np.linalg.det(cov))
            diff = props[:, None, :] - theta[None, :, :]
            kern = norm * np.exp(-0.5 * np.einsum("mjd,de,mje->mj", diff, inv, diff))
            prior = 1.0 / float(np.prod(hi - lo))
            wnew = prior / np.maximum(kern @ wn, 1e-300)
            acc = float(np.mean(dn < eps))
            theta = np.vstack([theta, props])
            w = np.concatenate([w, wnew])
            d = np.concatenate([d, dn])
            ids = np.concatenate([ids, idn])
            keep = np.argsort(d, kind="stable")[:n_keep]
            theta, w, d, ids = theta[keep], w[keep], d[keep], ids[keep]
            eps = float(d.max())
            history.append({"generation": gen, "runs": m, "tolerance": eps, "acceptance": acc})
            if acc < abc.min_acceptance:
                break
        return self._report(store, outdir, theta, w, d, ids, history)

    def _report(self, store, outdir, theta, w, d, ids, history) -> dict[str, Any]:
        import numpy as np
        import pandas as pd

        t = self.spec.target
        runs = store.runs_table(self.tasks, [t.summary] if t.summary else [])
        runs.insert(4, "generation", [self.generation[r] for r in runs["run_id"]])
        runs["distance"] = [self.distance[r] for r in runs["run_id"]]
        write_parquet(runs, outdir / "runs.parquet")
        wn = w / w.sum()
        parts = pd.DataFrame({"run_id": ids, "distance": d, "weight": wn,
                              **{n: theta[:, k] for k, n in enumerate(self.names)}})
        write_parquet(parts, outdir / "particles.parquet")
        best = int(np.argmin(d))
        posterior = {}
        for k, n in enumerate(self.names):
            x = theta[:, k]
            mu = float(wn @ x)
            posterior[n] = {"mean": mu, "sd": float(np.sqrt(max(wn @ (x - mu) ** 2, 0.0))),
                            **{f"q{int(q * 100):02d}": _weighted_quantile(x, wn, q)
                               for q in (0.05, 0.5, 0.95)}}
        failed = int((runs["status"] != "ok").sum())
        report = {
            "name": self.spec.name, "scenario": self.spec.scenario,
            "method": "ABC-SMC (adaptive population Monte Carlo, Lenormand et al. 2013)",
            "target": t.model_dump(mode="json"),
            "distance": (f"{t.distance} of '{t.series}' vs {t.data} over "
                         f"{t.start or 'start'}..{t.end} ({len(self.points)} points)"
                         if t.series else f"|{t.summary} - {t.value}|"),
            "best_fit": {"run_id": int(ids[best]), "distance": float(d[best]),
                         "seed": self.tasks[int(ids[best])].seed,
                         "parameters": {n: float(theta[best, k])
                                        for k, n in enumerate(self.names)}},
            "posterior": posterior, "generations": history, "runs": len(self.tasks),
            "failed_runs": failed, "particles_kept": len(ids),
        }
        dump_json(report, outdir / "calibration.json")
        return report


def load_calibration(path: str | Path) -> tuple[CalibrationSpec, Path]:
    """Read and validate a calibration file."""
    from ..errors import ScenarioError
    from ..scenario import read_toml
    from .sweep import parse_spec

    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"file '{p}' not found")
    raw = read_toml(p)
    raw.setdefault("name", slugify(p.stem))
    if "parameters" in raw:
        raw["parameters"] = flatten_parameters(raw["parameters"])
    return parse_spec(raw, p.name, CalibrationSpec), p.parent


def calibrate(spec: CalibrationSpec | str | Path, executor: Executor, *,
              out: str | Path | None = None, resume: bool = False, force: bool = False,
              quiet: bool = True, figures: bool = True) -> tuple[Path, dict[str, Any]]:
    """Run (or resume) a calibration; returns ``(output directory, calibration report)``."""
    base_dir = None
    source = "calibration"
    if not isinstance(spec, CalibrationSpec):
        source = Path(spec).name
        spec, base_dir = load_calibration(spec)
    cal = Calibration(spec, base_dir, source)
    outdir = Path(out or spec.out or Path("runs") / spec.name)
    with claim_experiment(outdir, resume=resume, force=force):
        report = cal.run(outdir, executor, resume=resume, force=force, quiet=quiet)
        if figures:
            draw_calibration(outdir, report, cal.names)
    return outdir, report


def draw_calibration(outdir: Path, report: dict[str, Any], names: list[str]) -> list[Path]:
    """Distance of every run against each parameter; the final particles highlighted."""
    import pandas as pd

    from ..plotting import plt as _plt
    from ..plotting import save

    plt = _plt()
    runs = pd.read_parquet(outdir / "runs.parquet")
    kept = set(pd.read_parquet(outdir / "particles.parquet")["run_id"])
    fig, axs = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
    for ax, n in zip(axs[0], names, strict=True):
        ok = runs[runs["distance"] < float("inf")]
        sel = ok["run_id"].isin(kept)
        ax.scatter(ok.loc[~sel, n], ok.loc[~sel, "distance"], s=10, c=ok.loc[~sel, "generation"],
                   cmap="Greys", vmin=-1, label="runs (darker: later generation)")
        ax.scatter(ok.loc[sel, n], ok.loc[sel, "distance"], s=16, color="#b2182b",
                   label="final particles")
        ax.axvline(report["best_fit"]["parameters"][n], color="#2166ac", lw=1, label="best fit")
        ax.set_xlabel(n)
        ax.set_ylabel("distance")
        ax.legend(fontsize=6, frameon=False)
    cap = (f"allegiance calibrate {report['name']}: {report['runs']} runs, "
           f"distance {report['distance']}.")
    fig.tight_layout(rect=(0, 0.08, 1, 1))  # room for the caption under the axes
    return save(fig, outdir / "figures", "calibration", cap)
