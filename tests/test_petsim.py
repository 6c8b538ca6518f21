"""The PET simulator: its tissue table, an unbiased mean, and commuting with rotations and mirrors."""

from __future__ import annotations

import numpy as np

from eqdenoise.frames.groups import GROUPS
from eqdenoise.training.petsim import TISSUES, PetSimulator


def test_simulator_tissue_table_and_unbiased_mean():
    sim = PetSimulator()
    hu = np.array([[-1000.0, -600.0, -100.0, 40.0, 200.0, 800.0]])
    assert sim.activity(hu).tolist() == [[level for _, _, level in TISSUES]]
    phantom = np.where(np.hypot(*np.mgrid[-48:48, -48:48]) < 30, 40.0, -1000.0)
    rng = np.random.default_rng(0)
    average = np.mean([sim.sample(phantom, rng) for _ in range(300)], axis=0)
    assert np.abs(average - sim.mean(phantom)).max() < 0.05
    assert np.abs(sim.sample(phantom, np.random.default_rng(1)) - sim.mean(phantom)).std() > 0.03


def test_simulator_commutes_with_rotations_and_mirrors():
    sim = PetSimulator()
    hu = np.random.default_rng(2).uniform(-1000, 1000, size=(40, 56))
    mean = sim.mean(hu)
    for g in GROUPS["d4"]:
        assert np.abs(sim.mean(g.apply(hu)) - g.apply(mean)).max() < 1e-5
