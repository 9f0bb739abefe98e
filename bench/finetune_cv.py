"""Learning from corrections, measured: 5-fold cross-validation on plates-dev treated as a
centre's confirmed and corrected crops.

Folds are split by plate text (one plate is never on both sides); each fold fine-tunes the
shipped head (trained on synthetic plates only) on the other four folds plus synthetic
lines, exactly as ``python -m recognition finetune`` does, and reads the held-out fold
through the whole pipeline. Every photo is tested once. The models are temporary (never
written: plates-dev has no licence). ``cv_exact_acc``: share of all photos read exactly by
the model of their fold; ``cv_base_exact_acc``: the shipped head on the same photos;
``finetune_s``: the longest fold's fine-tuning (what one ``finetune`` run costs).

    python bench/finetune_cv.py [--folds 5] [--limit N] [--synthetic 4000] [--epochs 4]
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import numpy as np

from recognition.finetune import Example, fold_of, plate_read, train_on_examples
from recognition.network import load_network, onnx_network
from recognition.ocr import HEAD_PATH
from recognition.pipeline import Recogniser
from tracing import settings
from tracing.errors import PlateError
from tracing.plates import parse_plate

logger = logging.getLogger("bench.finetune_cv")
PLATES_DEV = settings.SHARED_DATA_DIR / "plates-dev"


def examples(limit: int | None = None) -> list[Example]:
    """The labelled photos of plates-dev (those whose label is a valid plate)."""
    with (PLATES_DEV / "labels.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if limit:
        rows = rows[:: max(1, len(rows) // limit)][:limit]
    out = []
    for row in rows:
        image = cv2.imread(str(PLATES_DEV / row["file"]))
        try:
            out.append(Example(row["file"], np.asarray(image, np.uint8),
                               parse_plate(row["plate_compact"])))
        except PlateError as exc:
            logger.warning("%s skipped: %s", row["file"], exc)
    return out


def cross_validate(folds: int = 5, *, limit: int | None = None, synthetic: int = 4000,
                   epochs: int = 4, compare: bool = True) -> dict[str, float]:
    """The cross-validated figures (see the module docstring); ``compare=False`` leaves
    out the shipped head's reading of each fold (``bench/recognition.py`` has it as
    ``exact_acc``)."""
    photos = examples(limit)
    shipped = Recogniser(load_network(head=HEAD_PATH))
    hits: list[bool] = []
    base: list[bool] = []
    seconds: list[float] = []
    for k in range(folds):
        test = [e for e in photos if fold_of(e.plate, folds) == k]
        train = [e for e in photos if fold_of(e.plate, folds) != k]
        started = time.perf_counter()
        model, charset, _ = train_on_examples(HEAD_PATH, train, synthetic=synthetic,
                                              epochs=epochs, seed=k,
                                              progress=logger.info)
        seconds.append(time.perf_counter() - started)
        tuned = Recogniser(onnx_network(model, charset))
        fold_hits = [plate_read(tuned, e.image) == e.plate.compact for e in test]
        fold_base = [plate_read(shipped, e.image) == e.plate.compact
                     for e in test] if compare else [False]
        shipped_text = f" (shipped {np.mean(fold_base):.3f})" if compare else ""
        logger.info("fold %d: %d train, %d test: exact %.3f%s, fine-tuned in %.0f s", k,
                    len(train), len(test), np.mean(fold_hits), shipped_text, seconds[-1])
        hits += fold_hits
        base += fold_base
    base_acc = {"cv_base_exact_acc": float(np.mean(base))} if compare else {}
    return {"cv_exact_acc": float(np.mean(hits)), **base_acc, "cv_photos": len(hits),
            "finetune_s": max(seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--synthetic", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (PLATES_DEV / "labels.csv").exists():
        print(f"plates-dev not found at {PLATES_DEV}: skipped", file=sys.stderr)
        return 0
    result = cross_validate(args.folds, limit=args.limit, synthetic=args.synthetic,
                            epochs=args.epochs)
    print("RESULT recognition_cv " + " ".join(
        f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
