"""Make the PyPI torchvision wheel importable on CPU-only torch.

The torchvision wheel pinned beside CPU torch links its C++ extension (``_C.so``) against
CUDA libraries, so on CPU torch the extension does not load and ``import torchvision``
fails with ``operator torchvision::nms does not exist``. EasyOCR needs only torchvision's
pure-Python parts (VGG backbone, transforms) and ``ops.nms``. :func:`ensure_torchvision`,
called before torchvision is first imported, tries to load the real extension; when that
fails it defines ``torchvision::nms`` (and the schema of ``qnms``) with a CPU
implementation in plain torch. Where the real extension loads (CUDA torch) it does nothing.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

__all__ = ["ensure_torchvision", "nms_cpu"]

log = logging.getLogger(__name__)

_NMS_SCHEMA = "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
_state: dict[str, bool] = {}


def nms_cpu(dets: Any, scores: Any, iou_threshold: float) -> Any:
    """Greedy non-maximum suppression: indices of kept boxes, by decreasing score."""
    import torch

    order = torch.argsort(scores, descending=True)
    x1, y1, x2, y2 = dets[:, 0], dets[:, 1], dets[:, 2], dets[:, 3]
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    keep: list[int] = []
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    for rank, i in enumerate(order.tolist()):
        if suppressed[rank]:
            continue
        keep.append(i)
        rest = order[rank + 1 :]
        w = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
        h = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter).clamp(min=1e-12)
        suppressed[rank + 1 :] |= iou > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def _extension_loads() -> bool:
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    for folder in spec.submodule_search_locations:
        for lib in sorted(Path(folder).glob("_C*.so")) + sorted(Path(folder).glob("_C*.pyd")):
            try:
                torch.ops.load_library(str(lib))  # type: ignore[no-untyped-call]
            except (OSError, ImportError, RuntimeError) as exc:
                log.debug("torchvision extension %s does not load: %s", lib, exc)
                return False
            return True
    return False


def ensure_torchvision() -> None:
    """Prepare and import torchvision; idempotent."""
    if _state.get("done"):
        return
    if "torchvision" not in sys.modules and not _extension_loads():
        import torch

        torch.library.define("torchvision::nms", _NMS_SCHEMA)
        torch.library.impl("torchvision::nms", "cpu")(nms_cpu)
        torch.library.define("torchvision::qnms", _NMS_SCHEMA)
        extension = importlib.import_module("torchvision.extension")
        setattr(extension, "_has_ops", lambda: True)  # noqa: B010 - the ops now exist
        log.info("torchvision C++ extension unavailable; using the CPU nms shim")
    importlib.import_module("torchvision")

    _state["done"] = True
