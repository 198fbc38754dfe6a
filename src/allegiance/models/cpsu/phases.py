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


def _month(order: str) -> tuple[Phase, ...]:
    """The month's phases with M7 in ``order`` (``run.m7_order``)."""
    sync = order == "synchronous"
    taker = "adults" if sync else "learning"  # the pass that takes next month's stocks
    common = (
        Phase("record", "member index (all agents in the first month, after war losses, or "
              f"when ``{taker}``'s list of deaths is full)",
              "the stocks on the 1st of the month, M12 commitment among them (the whole "
              f"population's were summed by last month's ``{taker}``: the non-members' are the "
              "difference); when no ``shock``, ``crisis`` or ``dissolution`` event needs the "
              "agents in between, M2's natural deaths of the month (listed by that pass) and "
              "the members' sums of ``members`` as they stand after them",
              "``carry.next_stocks``", "the month's row; ``carry.deaths``, "
              "``carry.member_sums``"),
        Phase("context", "none", "the month's Context for every mechanism: levers (after the "
              "month's events), openness, the stocks, last month's exit rate",
              "levers, stocks", "``carry.ctx``"),
        Phase("demography", "new agents; for excess deaths, the successes of their trials",
              "M2 excess deaths, births, arrivals and their months of death (natural deaths if "
              "``record`` did not take them)",
              "``carry.ctx``, ``carry.deaths``", "new agents; ``carry.member_sums`` dropped if "
              "excess deaths struck members"),
        Phase("members", "member index", "M4 members' belief summed per workplace and M5 "
              "promotion weights (unless ``record`` took them); then M5 promotion, rotation, "
              "rents", "``carry.ctx``, ``carry.member_sums``",
              "M4 workplace sums of members' belief"),
    )
    stocks = ("next month's stocks of the whole population (no later phase changes belief, "
              "trust or age, and only war losses change who is alive) and its natural deaths")
    if sync:
        middle = (
            Phase("adults", f"all agents, in blocks of {BLOCK:,} slots: non-members, then the "
                  "block's members from the member index (after a pass over all agents "
                  "summing trust per workplace when last month's sums are missing: the first "
                  "month, after a shock, with an added mechanism switched on)",
                  "M2 socialization at 16; M4 ritual decay and peer drift; M6 trust; M7 social "
                  "learning from last month's workplace means; M7 trust summed per workplace "
                  f"for next month; {stocks}",
                  "``carry.ctx``, M4 workplace sums, ``carry.trust_sums``",
                  "``carry.trust_sums``, ``carry.next_stocks``"),
            Phase("applications", "the agents whose monthly trial to apply succeeded",
                  "M1 decisions to apply", "``carry.ctx``", "``carry.applicants``"),
        )
    else:
        middle = (
            Phase("adults", f"all agents, in blocks of {BLOCK:,} slots: non-members, then the "
                  "block's members from the member index",
                  "M2 socialization at 16; M4 ritual decay and peer drift; M6 trust; M7 trust "
                  "summed per workplace", "``carry.ctx``, M4 workplace sums",
                  "M7 workplace sums of trust"),
            Phase("learning", f"all agents, in blocks of {BLOCK:,} slots; then the agents "
                  "whose monthly trial to apply succeeded",
                  f"M7 social learning; {stocks}; M1 decisions to apply",
                  "``carry.ctx``, M7 workplace sums",
                  "``carry.applicants``, ``carry.next_stocks``"),
        )
    lists = "``applications``" if sync else "``learning``"
    end = (
        Phase("admissions", f"member index; then the applicants listed by {lists} (a chunk "
              "with more than the list holds is scanned)",
              "M1 confirmation of candidates; M1 admissions under the quota; member index "
              "update", "``carry.ctx``, ``carry.applicants``", "the member index"),
        Phase("purges", "member index", "purge and war-loss events take this month's share",
              "``carry.ctx``, the ongoing events", "``carry.next_stocks`` dropped after war "
              "losses"),
        Phase("members_end", "member index", "M11 expulsions for corruption; M8 conversion; M9 "
              "formal exit, silent disengagement (lapsing) or return", "``carry.ctx``",
              "the month's formal exits (next month's M9 cascade)"),
    )
    return common + middle + end


#: M7's orders (``run.m7_order``): the default first
M7_ORDERS = ("synchronous", "sequential")

#: the month, in order, for each M7 order. ``record`` (the engine's: stocks on the 1st of
#: the month) comes first, then the month's events (levers, shocks M3, purges, the crisis
#: M10, the ban), then these phases; ``CpsuModel.phases`` returns them in this order (a test
#: checks it). The two orders differ only in ``adults`` and the phase after it.
MONTHS = {order: _month(order) for order in M7_ORDERS}

#: the default month (synchronous M7: one pass over everyone)
PHASES = MONTHS["synchronous"]


def phases_of(order: str) -> tuple[Phase, ...]:
    """The month's phases with M7 in ``order`` (``"synchronous"`` or ``"sequential"``)."""
    return MONTHS[order]


_PHASE_COLUMNS = ("phase", "loops over", "does, in order", "reads", "hands on")


def phase_table() -> str:
    """:data:`PHASES` as a reStructuredText table (for the model's docstring)."""
    rows = [(f"``{p.name}``", p.loops_over, p.does, p.reads, p.writes) for p in PHASES]
    return _rst_table(_PHASE_COLUMNS, rows)


def phase_table_md(order: str = "synchronous") -> str:
    """The month with M7 in ``order`` as a Markdown table (for the docs' generated
    blocks); with ``"sequential"`` only the phases that differ from the default month."""
    lines = ["| " + " | ".join(_PHASE_COLUMNS) + " |", "|---" * len(_PHASE_COLUMNS) + "|"]
    rows = MONTHS[order]
    if order != "synchronous":
        rows = tuple(p for p in rows if p not in PHASES)
    for p in rows:
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
