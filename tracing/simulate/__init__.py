"""Traffic simulator: vehicles, trips and plate reads on the real road graph, with truth.

Public API::

    config = SimulationConfig.for_hours(hours=24, trips=25_000, seed=7)
    summary = run_simulation(db_path, truth_dir, config=config)   # store + truth folder
    sim = simulate(graph, registry, wards=..., outline=..., config=config)  # in memory
    truth = load_truth(truth_dir)                                  # for evaluation

See :mod:`tracing.simulate.truth` for the ground-truth format.
"""

from __future__ import annotations

from tracing.simulate.config import SimulationConfig, parse_start
from tracing.simulate.run import (
    RunSummary,
    Simulation,
    default_truth_dir,
    run_simulation,
    simulate,
)
from tracing.simulate.truth import Truth, load_truth, write_truth

__all__ = [
    "RunSummary",
    "Simulation",
    "SimulationConfig",
    "Truth",
    "default_truth_dir",
    "load_truth",
    "parse_start",
    "run_simulation",
    "simulate",
    "write_truth",
]
