"""GNN association on plain pair arrays (``hil.tracking.association``)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hil.tracking.association import associate, associate_in_priority

GATE = 10.0


def total(track_of: np.ndarray, pairs: dict[tuple[int, int], float]) -> float:
    """Assignment cost: each pair's Mahalanobis², the gate for each track left without one."""
    return sum(GATE if d < 0 else pairs[(t, int(d))] for t, d in enumerate(track_of))


@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.lists(st.floats(0.0, 9.99), min_size=16, max_size=16),
    st.lists(st.booleans(), min_size=16, max_size=16),
)
def test_each_cluster_is_solved_optimally(
    n_tracks: int, n_dets: int, costs: list[float], gated: list[bool]
) -> None:
    """Against every matching of the gated pairs: no cheaper assignment exists, and the one
    returned is consistent (track ↔ detection both ways, each pair a gated one)."""
    pairs = {
        (t, d): costs[4 * t + d] for t in range(n_tracks) for d in range(n_dets) if gated[4 * t + d]
    }
    keys = sorted(pairs)
    pair_track = np.array([t for t, _ in keys], np.int64)
    pair_det = np.array([d for _, d in keys], np.int64)
    cost = np.array([pairs[k] for k in keys])
    track_of, det_of = associate(n_tracks, n_dets, pair_track, pair_det, cost, GATE)
    for t, d in enumerate(track_of):
        if d >= 0:
            assert (t, int(d)) in pairs and det_of[d] == t
    assert sum(d >= 0 for d in det_of) == sum(d >= 0 for d in track_of)
    best = GATE * n_tracks
    for choice in itertools.product(range(-1, n_dets), repeat=n_tracks):
        used = [d for d in choice if d >= 0]
        if len(used) == len(set(used)) and all(
            d < 0 or (t, d) in pairs for t, d in enumerate(choice)
        ):
            best = min(best, total(np.array(choice), pairs))
    assert total(track_of, pairs) <= best + 1e-9


def test_confirmed_tracks_choose_first() -> None:
    """A tentative track nearer a detection than the confirmed track that also gates it does
    not take it: confirmed tracks are assigned first, tentative ones share what is left (one
    joint assignment would give it to the tentative track)."""
    pair_track = np.array([0, 1], np.int64)  # track 0 confirmed, track 1 tentative
    pair_det = np.array([0, 0], np.int64)
    cost = np.array([9.0, 0.1])
    joint, _ = associate(2, 1, pair_track, pair_det, cost, GATE)
    assert joint.tolist() == [-1, 0]
    confirmed = np.array([True, False])
    track_of, det_of = associate_in_priority(confirmed, 2, 1, pair_track, pair_det, cost, GATE)
    assert track_of.tolist() == [0, -1] and det_of.tolist() == [0]
