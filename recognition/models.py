"""Versions of the recogniser's plate-trained head: which one reads plates, and going back.

The head shipped in ``data/models/plate_head.pt`` (trained on synthetic plates only) is the
version ``shipped``. ``python -m recognition finetune`` adds versions trained on the
centre's own confirmed and corrected crops under ``var/models/<version>/`` (``head.pt`` and
``model.json``: when, from which version, on what, its measured accuracy); they never leave
the machine. ``active.json`` names the active version and the ones active before it, so
:func:`rollback` restores the previous one. A version's file is checked (SHA-256 recorded
when it was added, loadable head weights) before it is activated and whenever it is used:
a corrupt or missing file is a clear :class:`RecognitionError`, never a silent fallback.

    python -m recognition models list | activate VERSION | rollback
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from recognition.errors import RecognitionError
from recognition.ocr import HEAD_PATH, check_head
from tracing import settings
from tracing.files import replace_file

__all__ = ["MODELS_DIR", "SHIPPED", "ModelVersion", "activate", "active_head", "active_model",
           "add_model", "list_models", "rollback"]

MODELS_DIR: Final = settings.VAR_DIR / "models"
SHIPPED: Final = "shipped"
_ACTIVE: Final = "active.json"
_NAME: Final = re.compile(r"v\d{4}")


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One head: its name, weights file, where it came from and how well it read."""

    name: str
    path: Path
    created_at: str = ""
    parent: str | None = None
    exact_acc: float | None = None
    """Exact plate accuracy on the held-out corrections when it was trained."""
    parent_exact_acc: float | None = None
    """The parent version's accuracy on the same held-out crops."""
    held_out: int = 0
    trained_on: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    note: str = ""

    def describe(self) -> str:
        """One line: name, accuracy against its parent, what it was trained on."""
        if self.name == SHIPPED:
            measured = (f"; exact {self.exact_acc:.3f} on {self.held_out} {self.note}"
                        if self.exact_acc is not None else "")
            return f"{SHIPPED}: trained on synthetic plates only{measured}"
        measured = (f"held-out exact {self.exact_acc:.3f} vs {self.parent_exact_acc:.3f} "
                    f"for {self.parent} on {self.held_out} crops"
                    if self.exact_acc is not None and self.parent_exact_acc is not None
                    else "not measured")
        what = ", ".join(f"{v} {k}" for k, v in self.trained_on.items())
        return f"{self.name}: {self.created_at}, from {self.parent}; {measured}; {what}"


def _shipped() -> ModelVersion:
    """The shipped head, with what ``data/models/plate_head.json`` says it measured."""
    try:
        measured = json.loads(HEAD_PATH.with_suffix(".json").read_text(encoding="utf-8"))
        return ModelVersion(SHIPPED, HEAD_PATH, exact_acc=float(measured["exact_acc"]),
                            held_out=int(measured["photos"]), note=str(measured["note"]))
    except (OSError, ValueError, KeyError, TypeError):
        return ModelVersion(SHIPPED, HEAD_PATH)


def _meta_path(root: Path, name: str) -> Path:
    return root / name / "model.json"


def _load_meta(root: Path, name: str) -> ModelVersion:
    path = _meta_path(root, name)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        data["path"] = root / name / "head.pt"
        return ModelVersion(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise RecognitionError(f"model {name}: {path} is unreadable or corrupt: {exc}") from exc


def list_models(root: Path | None = None) -> list[ModelVersion]:
    """Every version, ``shipped`` first, then the trained ones oldest first (``root``:
    the versions folder, default :data:`MODELS_DIR`)."""
    root = root or MODELS_DIR
    names = sorted(p.name for p in root.glob("v*") if _NAME.fullmatch(p.name)) \
        if root.is_dir() else []
    return [_shipped(), *(_load_meta(root, n) for n in names)]


def _state(root: Path) -> dict[str, Any]:
    path = root / _ACTIVE
    if not path.exists():
        return {"active": SHIPPED, "previous": []}
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state.get("active"), str) or not isinstance(state.get("previous"),
                                                                        list):
            raise ValueError("no active version")
    except (OSError, ValueError) as exc:
        raise RecognitionError(f"{path} is unreadable or corrupt: {exc}") from exc
    return state


def _version(root: Path, name: str) -> ModelVersion:
    if name == SHIPPED:
        return _shipped()
    if not _NAME.fullmatch(name) or not _meta_path(root, name).exists():
        known = ", ".join(m.name for m in list_models(root))
        raise RecognitionError(f"no model version {name!r} (known: {known})")
    return _load_meta(root, name)


def _checked(model: ModelVersion) -> ModelVersion:
    """``model`` once its file matches its recorded hash and holds head weights."""
    if model.name == SHIPPED and not model.path.exists():
        return model  # no shipped head: EasyOCR's own weights
    try:
        digest = hashlib.sha256(model.path.read_bytes()).hexdigest()
    except OSError as exc:
        raise RecognitionError(f"model {model.name}: cannot read {model.path}: {exc}") from exc
    if model.sha256 and digest != model.sha256:
        raise RecognitionError(f"model {model.name}: {model.path} is corrupt (its SHA-256 "
                               "differs from the one recorded when it was trained)")
    check_head(model.path)
    return model


def active_model(root: Path | None = None) -> ModelVersion:
    """The active version, checked (RecognitionError when its file is corrupt)."""
    root = root or MODELS_DIR
    return _checked(_version(root, str(_state(root)["active"])))


def active_head(root: Path | None = None) -> Path | None:
    """Weights file of the active head (None: no head file, EasyOCR's own weights)."""
    model = active_model(root)
    return model.path if model.path.exists() else None


def _write_state(root: Path, active: str, previous: list[str]) -> None:
    text = json.dumps({"active": active, "previous": previous}, indent=2)
    replace_file(root / _ACTIVE, text.encode("utf-8"), durable=True)


def activate(name: str, root: Path | None = None) -> ModelVersion:
    """Make ``name`` the active version (checked first); the current one can be rolled back
    to."""
    root = root or MODELS_DIR
    model = _checked(_version(root, name))
    state = _state(root)
    if state["active"] != name:
        _write_state(root, name, [*state["previous"], state["active"]])
    return model


def rollback(root: Path | None = None) -> ModelVersion:
    """Reactivate the version that was active before the current one."""
    root = root or MODELS_DIR
    state = _state(root)
    if not state["previous"]:
        raise RecognitionError(f"nothing to roll back to: {state['active']} is the first "
                               "active version")
    *earlier, last = state["previous"]
    model = _checked(_version(root, str(last)))
    _write_state(root, str(last), earlier)
    return model


def add_model(weights: bytes, *, parent: str, exact_acc: float | None,
              parent_exact_acc: float | None, held_out: int, trained_on: dict[str, int],
              note: str = "", root: Path | None = None) -> ModelVersion:
    """Keep new head weights as the next version (not activated)."""
    root = root or MODELS_DIR
    taken = [int(m.name[1:]) for m in list_models(root) if m.name != SHIPPED]
    name = f"v{max(taken, default=0) + 1:04d}"
    folder = root / name
    head = replace_file(folder / "head.pt", weights, durable=True)
    model = ModelVersion(name, head, datetime.now(UTC).isoformat(timespec="seconds"), parent,
                         exact_acc, parent_exact_acc, held_out, trained_on,
                         hashlib.sha256(weights).hexdigest(), note)
    meta = {k: v for k, v in asdict(model).items() if k != "path"}
    replace_file(_meta_path(root, name), json.dumps(meta, indent=2).encode("utf-8"),
                 durable=True)
    return model
