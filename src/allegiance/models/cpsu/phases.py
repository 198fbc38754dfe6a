"""The month's phases, declared once: the model's docstring, the ODD's table and
``CpsuModel.phases`` all follow :data:`PHASES`."""

from __future__ import annotations

from dataclasses import dataclass

from .options import BLOCK


@dataclass(frozen=True)
class Phase:
    """One phase of the month, as the docs show it."""

    name: str  #: the phase's name (a key of ``manifest.json``'s ``phase_seconds``)
    loops_over: str  #: which agents its kernels visit
    does: str  #: the mechanisms it runs, in order
    reads: str  #: what it reads besides the agents' own state
    writes: str  #: what it hands on


#: the month, in order. ``record`` (the engine's: stocks on the 1st of the month) comes first,
#: then the month's events (levers, shocks M3, purges, the crisis M10, the ban), then these
#: phases; ``CpsuModel.phases`` returns them in this order (a test checks it).
PHASES = (
    Phase("record", "member index (all agents in the first month, after war losses, or when "
          "``learning``'s list of deaths is full)",
          "the stocks on the 1st of the month, M12 commitment among them (the whole "
          "population's were summed by last month's ``learning``: the non-members' are the "
          "difference); when no ``shock``, ``crisis`` or ``dissolution`` event needs the agents "
          "in between, M2's natural deaths of the month (listed by that pass) and the members' "
          "sums of ``members`` as they stand after them",
          "``carry.next_stocks``", "the month's row; ``carry.deaths``, ``carry.member_sums``"),
    Phase("context", "none", "the month's Context for every mechanism: levers (after the "
          "month's events), openness, the stocks, last month's exit rate",
          "levers, stocks", "``carry.ctx``"),
    Phase("demography", "new agents; for excess deaths, the successes of their trials",
          "M2 excess deaths, births, arrivals and their months of death (natural deaths if "
          "``record`` did not take them)",
          "``carry.ctx``, ``carry.deaths``", "new agents; ``carry.member_sums`` dropped if "
          "excess deaths struck members"),
    Phase("members", "member index", "M4 members' belief summed per workplace and M5 "
          "promotion weights (unless ``record`` took them); then M5 promotion, rotation, rents",
          "``carry.ctx``, ``carry.member_sums``", "M4 workplace sums of members' belief"),
    Phase("adults", f"all agents, in blocks of {BLOCK:,} slots: non-members, then the "
          "block's members from the member index",
          "M2 socialization at 16; M4 ritual decay and peer drift; M6 trust; M7 trust summed "
          "per workplace", "``carry.ctx``, M4 workplace sums", "M7 workplace sums of trust"),
    Phase("learning", f"all agents, in blocks of {BLOCK:,} slots; then the agents whose "
          "monthly trial to apply succeeded",
          "M7 social learning; next month's stocks of the whole population (no later phase "
          "changes belief, trust or age, and only war losses change who is alive) and its "
          "natural deaths; M1 decisions to apply",
          "``carry.ctx``, M7 workplace sums", "``carry.applicants``, ``carry.next_stocks``"),
    Phase("admissions", "member index; then the applicants listed by ``learning`` (a chunk "
          "with more than the list holds is scanned)",
          "M1 confirmation of candidates; M1 admissions under the quota; member index update",
          "``carry.ctx``, ``carry.applicants``", "the member index"),
    Phase("purges", "member index", "purge and war-loss events take this month's share",
          "``carry.ctx``, the ongoing events", "``carry.next_stocks`` dropped after war "
          "losses"),
    Phase("members_end", "member index", "M11 expulsions for corruption; M8 conversion; M9 "
          "formal exit, silent disengagement (lapsing) or return", "``carry.ctx``",
          "the month's formal exits (next month's M9 cascade)"),
)


_PHASE_COLUMNS = ("phase", "loops over", "does, in order", "reads", "hands on")


def phase_table() -> str:
    """:data:`PHASES` as a reStructuredText table (for the model's docstring)."""
    rows = [(f"``{p.name}``", p.loops_over, p.does, p.reads, p.writes) for p in PHASES]
    return _rst_table(_PHASE_COLUMNS, rows)


def phase_table_md() -> str:
    """:data:`PHASES` as a Markdown table (for the docs' generated blocks)."""
    lines = ["| " + " | ".join(_PHASE_COLUMNS) + " |", "|---" * len(_PHASE_COLUMNS) + "|"]
    for p in PHASES:
        cells = (f"`{p.name}`", p.loops_over, p.does, p.reads, p.writes)
        lines.append("| " + " | ".join(c.replace("``", "`") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _rst_table(cols: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A reStructuredText list table (cells wrap freely)."""
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in (cols, *rows):
        out.append(f"   * - {row[0]}")
        out += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(out) + "\n"
