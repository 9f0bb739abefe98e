"""Subsets of plates-dev for per-subset accuracy (``bench/recognition.py``).

Context photos show a whole vehicle or a street scene, the plate a small part of it;
the other photos are plate crops. In plates-dev (checked by eye, all 409) the context
photos are exactly the ``ndata`` photos at least 800 px on their longer side (ndata608,
609 and 625, motorbikes at 1536×2048, and ndata620, a plate on a desk at 800×480); the
crops are the ``xemay`` (760×560) and ``CarLongPlate`` (780×165) crops, upscaled, and the
other ``ndata`` crops (at most 648 px). Thresholds are tuned on the even positions of the
sorted file names and reported on the odd ones (held out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

CONTEXT_MIN_SIDE = 800
"""An ``ndata`` photo at least this long on its longer side is a context photo."""


def is_context(row: Mapping[str, str]) -> bool:
    """Whether a labels.csv row is a context photo (see the module docstring)."""
    return (row["source_subset"] == "ndata"
            and max(int(row["width"]), int(row["height"])) >= CONTEXT_MIN_SIDE)


def held_out(rows: Sequence[Mapping[str, str]]) -> set[str]:
    """Files at the odd positions of the sorted file names (not used for tuning)."""
    return set(sorted(r["file"] for r in rows)[1::2])


def subset_accuracy(rows: Sequence[Mapping[str, str]], hits: Mapping[str, bool]
                    ) -> dict[str, float]:
    """Exact accuracy on context photos and crops, and on the held-out half."""
    def mean(files: list[str]) -> float:
        return float(np.mean([hits[f] for f in files])) if files else float("nan")

    context = [r["file"] for r in rows if is_context(r)]
    crops = [r["file"] for r in rows if not is_context(r)]
    return {"context_exact_acc": mean(context), "crop_exact_acc": mean(crops),
            "context_photos": len(context), "heldout_half_exact_acc":
            mean(sorted(held_out(rows)))}
