"""Struct-of-arrays agent state: growth, active view, compaction."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allegiance.state import AgentState


def test_growth_is_amortized_and_keeps_values():
    s = AgentState(capacity=16)
    s.declare("x", np.float32, 0.0, owner="test")
    caps = set()
    for k in range(100):
        sl = s.add(3)
        s.x[sl] = k
        caps.add(s.capacity)
    assert s.n == 300
    assert len(caps) < 12  # grew geometrically, not per add
    assert np.array_equal(s.view("uid"), np.arange(300))
    assert s.x[299] == 99


def test_reserved_slots_filled_by_hand_are_those_add_makes():
    # the month's one compiled call appends newcomers itself: room first, then counted
    a, b = AgentState(capacity=4), AgentState(capacity=4)
    for s in (a, b):
        s.declare("x", np.float32, 0.5, owner="test")
        s.add(3)
    a.add(5)
    b.reserve(5)
    assert b.n == 3 and b.capacity >= 8
    b.uid[3:8] = np.arange(b.next_uid, b.next_uid + 5)
    b.alive[3:8] = True
    b.added(5)
    assert (a.n, a.next_uid, a.peak_n) == (b.n, b.next_uid, b.peak_n) == (8, 8, 8)
    for name in a.arrays:
        assert np.array_equal(a.view(name), b.view(name)), name
    assert np.array_equal(a.chunk_bounds(4), b.chunk_bounds(4))


def test_declare_twice_is_an_error():
    s = AgentState()
    s.declare("x", np.int8, 0, owner="a")
    try:
        s.declare("x", np.int8, 0, owner="b")
    except ValueError as e:
        assert "already declared by a" in str(e)
    else:
        raise AssertionError("no error")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=300))
def test_compaction_keeps_living_agents_in_order(alive_flags):
    s = AgentState(capacity=4)
    s.declare("x", np.int64, -1, owner="test")
    sl = s.add(len(alive_flags))
    s.x[sl] = np.arange(len(alive_flags)) * 10
    s.view("alive")[:] = alive_flags
    before = s.view("uid")[s.active()].copy()
    s.compact(force=True)
    assert s.n == sum(alive_flags)
    assert np.array_equal(s.view("uid"), before)
    assert np.array_equal(s.view("x"), before * 10)
    assert s.n_alive == s.n


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5000), max_size=300, unique=True),
       st.lists(st.integers(0, 6000), min_size=1, max_size=12))
def test_member_index_positions_are_searchsorted(slots, edges):
    """The member index's chunk positions and chunk offsets (compiled) are numpy's
    searchsorted and cumsum."""
    from allegiance.models.cpsu.member_index import offsets, positions

    idx = np.array([*sorted(slots), 7, 7, 7], dtype=np.uint32)  # spare room past n
    n = len(slots)
    bounds = np.array(sorted(edges), dtype=np.uint64)
    want = np.searchsorted(idx[:n], bounds.astype(np.uint32)).astype(np.uint64)
    got = positions(idx, n, bounds)
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got, want)
    counts = np.array([e % 17 for e in edges], dtype=np.int64)
    np.testing.assert_array_equal(offsets(counts), np.concatenate([[0], np.cumsum(counts)]))
    assert offsets(counts).dtype == np.int64
