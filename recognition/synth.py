"""Synthetic Vietnamese plates and a short synthetic traffic video (tests, benchmarks).

Plates are drawn with the OFL Barlow fonts shipped in ``data/fonts`` (a free stand-in for
the DIN-like plate font) at their real proportions: one-line car plates 520×110 mm,
two-line motorbike plates 190×140 mm, square car plates 280×200 mm, white, yellow, blue
or red with a border. :func:`degrade` adds perspective, blur, noise and uneven light.
:func:`write_video` moves vehicles carrying plates across a 720p road scene and returns
the ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from tracing import settings
from tracing.plates import PROVINCE_CODES, Plate, parse_plate

__all__ = ["FONTS_DIR", "PlateSpec", "PlateStyle", "SyntheticVehicle", "context_photo", "degrade",
           "plate_rows", "random_plate", "render_plate", "scene_frames", "write_video"]

Image = npt.NDArray[np.uint8]
Colour = Literal["white", "yellow", "blue", "red"]
Layout = Literal["one_line", "two_line"]

FONTS_DIR: Final = settings.DATA_DIR / "fonts"
_FONT_ONE_LINE: Final = "Barlow-SemiBold.ttf"
_FONT_TWO_LINE: Final = "BarlowCondensed-SemiBold.ttf"
SERIES_LETTERS: Final = "ABCDEFGHKLMNPSTUVXYZ"
"""Series letters in use on civilian plates."""
_BACKGROUND_BGR: Final[dict[str, tuple[int, int, int]]] = {
    "white": (232, 234, 236), "yellow": (40, 190, 235), "blue": (150, 70, 20),
    "red": (40, 40, 190)}
_INK_BGR: Final[dict[str, tuple[int, int, int]]] = {
    "white": (25, 25, 25), "yellow": (25, 25, 25), "blue": (245, 245, 245),
    "red": (245, 245, 245)}
_SIZE_MM: Final = {("one_line", "car"): (520, 110), ("two_line", "motorbike"): (190, 140),
                   ("two_line", "car"): (280, 200)}


@dataclass(frozen=True, slots=True)
class PlateSpec:
    """What to draw: the plate, its layout and its background colour."""

    plate: Plate
    layout: Layout
    colour: Colour


def random_plate(rng: np.random.Generator, *, layout: Layout | None = None,
                 colour: Colour | None = None) -> PlateSpec:
    """A random valid civilian plate (HCMC codes twice as likely as others)."""
    layout = layout or ("two_line" if rng.random() < 0.6 else "one_line")
    codes = sorted(PROVINCE_CODES)
    hcmc = ["41", *(str(c) for c in range(50, 60))]
    code = str(rng.choice(hcmc if rng.random() < 0.5 else codes))
    letter = str(rng.choice(list(SERIES_LETTERS)))
    digits = "".join(str(d) for d in rng.integers(0, 10, 5))
    motorbike = layout == "two_line" and rng.random() < 0.8
    series = letter + str(rng.integers(1, 10)) if motorbike else letter
    raw = f"{code}{series}/{digits}" if motorbike else f"{code}{series}-{digits}"
    colours: tuple[Colour, ...] = ("white",) * 6 + ("yellow",) * 2 + ("blue", "red")
    chosen = colour or colours[int(rng.integers(len(colours)))]
    return PlateSpec(parse_plate(raw), layout, chosen)


def plate_rows(spec: PlateSpec) -> list[str]:
    """The rows of text printed on the plate, top to bottom."""
    text = spec.plate.text
    if spec.layout == "one_line":
        return [text.replace(" ", "-")]
    if spec.plate.kind == "motorbike":
        return text.split(" ")
    head, number = text.split("-", 1)
    return [head, number]


def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True, slots=True)
class PlateStyle:
    """How the characters are drawn: the font file (default: the shipped Barlow face of
    the layout), a horizontal stretch, and whether "4" has the open top of the real
    plate font (its stem starts below the top, see :func:`_open_top`)."""

    font: Path | None = None
    stretch: float = 1.0
    open_four: bool = True


def _open_top(glyph: PILImage.Image) -> PILImage.Image:
    """A "4" with the open top of the plate font: the stem starts about two fifths down,
    so the diagonal rises alone to the top (Barlow's "4" is drawn so already; a font
    whose stem reaches the top, such as DIN, has it cut)."""
    ink = np.asarray(glyph, np.uint8).copy()
    rows = np.flatnonzero((ink > 127).any(axis=1))
    columns = (ink > 127).sum(axis=0)
    if not len(rows):
        return glyph
    left = right = int(columns.argmax())  # the stem: the tallest run of columns
    while left > 0 and columns[left - 1] >= 0.8 * columns.max():
        left -= 1
    while right + 1 < len(columns) and columns[right + 1] >= 0.8 * columns.max():
        right += 1
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    ink[: top + round(0.4 * height), max(0, left - 1) : right + 3] = 0
    return PILImage.fromarray(ink)


def _row_mask(row: str, font: ImageFont.FreeTypeFont, style: PlateStyle) -> PILImage.Image:
    """The ink of one row of text (L mode, 255 = ink), drawn character by character."""
    left, top, right, bottom = font.getbbox(row)
    layer = PILImage.new("L", (round(right - left) + 8, round(bottom - top) + 4), 0)
    x = 4.0 - left
    for ch in row:
        glyph = PILImage.new("L", layer.size, 0)
        ImageDraw.Draw(glyph).text((x, 2 - top), ch, font=font, fill=255)
        if ch == "4" and style.open_four:
            glyph = _open_top(glyph)
        layer = PILImage.fromarray(np.maximum(np.asarray(layer), np.asarray(glyph)))
        x += font.getlength(ch)
    if style.stretch != 1.0:
        layer = layer.resize((max(1, round(layer.width * style.stretch)), layer.height))
    return layer


def render_plate(spec: PlateSpec, *, px_per_mm: float = 1.0,
                 style: PlateStyle = PlateStyle()) -> Image:
    """A flat, sharp BGR image of the plate (1 px per mm by default)."""
    kind = "car" if spec.plate.kind != "motorbike" else "motorbike"
    w_mm, h_mm = _SIZE_MM[spec.layout, kind if spec.layout == "two_line" else "car"]
    scale = 4 * px_per_mm  # draw large, then shrink: smooth edges
    width, height = round(w_mm * scale), round(h_mm * scale)
    bg, ink = _BACKGROUND_BGR[spec.colour], _INK_BGR[spec.colour]
    canvas = PILImage.new("RGB", (width, height), bg[::-1])
    draw = ImageDraw.Draw(canvas)
    border = max(2, round(4 * scale))
    draw.rounded_rectangle((border, border, width - border, height - border),
                           radius=round(8 * scale), outline=ink[::-1], width=border)
    rows = plate_rows(spec)
    font_path = style.font or FONTS_DIR / (_FONT_ONE_LINE if spec.layout == "one_line"
                                           else _FONT_TWO_LINE)
    row_h = (height - 4 * border) / len(rows)
    for i, row in enumerate(rows):
        layer = _row_mask(row, _font(font_path, round(row_h * 0.95)), style)
        fit = min(1.0, (width - 8 * border) / max(layer.width, 1))
        if fit < 1.0:
            layer = layer.resize((max(1, round(layer.width * fit)), layer.height))
        x = (width - layer.width) // 2
        y = round(2 * border + i * row_h + (row_h - layer.height) / 2)
        canvas.paste(PILImage.new("RGB", layer.size, ink[::-1]), (x, y), layer)
    big = cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR)
    size = (round(w_mm * px_per_mm), round(h_mm * px_per_mm))
    return np.asarray(cv2.resize(big, size, interpolation=cv2.INTER_AREA), np.uint8)


def degrade(plate: Image, rng: np.random.Generator, *, strength: float = 1.0) -> Image:
    """Perspective tilt, blur, sensor noise and uneven light (``strength`` 0–2)."""
    h, w = plate.shape[:2]
    pad = round(0.15 * h)
    image = cv2.copyMakeBorder(plate, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                               value=(90, 90, 90))
    src = np.array([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]],
                   np.float32)
    jitter = rng.normal(0, 0.03 * strength * h, (4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, src + jitter)
    image = cv2.warpPerspective(image, matrix, image.shape[1::-1],
                                borderMode=cv2.BORDER_REPLICATE)
    sigma = 0.3 + rng.random() * 0.7 * strength
    image = cv2.GaussianBlur(image, (0, 0), sigma)
    ramp = np.linspace(1 - 0.25 * strength * rng.random(), 1.0, int(image.shape[1]))
    lit = image.astype(np.float32) * ramp[None, :, None] * (0.8 + 0.3 * rng.random())
    noisy = lit + rng.normal(0, 4 * strength, image.shape)
    return np.asarray(np.clip(noisy, 0, 255), np.uint8)


@dataclass(frozen=True, slots=True)
class SyntheticVehicle:
    """A vehicle of the synthetic video: its plate and the first and last frames in which
    the whole plate is in view."""

    spec: PlateSpec
    first_frame: int
    last_frame: int


def _scene_plate(spec: PlateSpec) -> Image:
    """The plate as it appears in the scene (one-line plates ~390 px, two-line ~210 px)."""
    return render_plate(spec, px_per_mm=0.75 if spec.layout == "one_line" else 1.1)


def _speed(frames: int, height: int) -> float:
    """Pixels per frame: a vehicle crosses the frame height in half the video."""
    return height / max(frames * 0.5, 1)


LANES: Final = 3
_GAP_PX: Final = 40
"""Road between one vehicle's body and the next in its lane."""


def _traffic(specs: list[PlateSpec], *, frames: int, size: tuple[int, int]
             ) -> list[tuple[PlateSpec, int, int]]:
    """Plan (plate, entry frame, plate x) for vehicles entering in turn: each takes the
    lane that is clear first, centred in it (inside the frame where the lane is narrower
    than the plate), and enters once the vehicle ahead in that lane has moved on (bodies,
    4 plate heights tall, never overlap)."""
    width, height = size
    speed = _speed(frames, height)
    clear = [0] * LANES
    plan = []
    for i, spec in enumerate(specs):
        ph, pw = _scene_plate(spec).shape[:2]
        wanted = round(i * frames / (len(specs) + 1) * 0.8)
        lane = min(range(LANES), key=lambda k: (max(wanted, clear[k]), k))
        start = max(wanted, clear[lane])
        clear[lane] = start + math.ceil((4 * ph + _GAP_PX) / speed)
        centre = width * (2 * lane + 1) / (2 * LANES)
        plan.append((spec, start, max(0, min(round(centre - pw / 2), width - pw))))
    return plan


def _background(width: int, height: int, rng: np.random.Generator) -> Image:
    road = np.full((height, width, 3), 95, np.float32)
    road += np.linspace(-25, 25, height, dtype=np.float32)[:, None, None]
    road += rng.normal(0, 6, (height, width, 1))
    for x in range(width // 6, width, width // 3):  # lane markings
        road[:, x - 4 : x + 4] = 200
    return np.asarray(np.clip(road, 0, 255), np.uint8)


def scene_frames(vehicles: list[tuple[PlateSpec, int, int]], *, frames: int,
                 size: tuple[int, int] = (1280, 720), seed: int = 0
                 ) -> tuple[list[Image], list[list[int]]]:
    """Frames of vehicles (plate, entry frame, lane x) moving down a road scene, and for
    each vehicle the frames in which its whole plate is in view."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = _background(width, height, rng)
    out = []
    visible: list[list[int]] = [[] for _ in vehicles]
    plates = [_scene_plate(spec) for spec, _, _ in vehicles]
    speed = _speed(frames, height)
    for f in range(frames):
        frame = base.copy()
        for v, ((_, start, lane_x), plate) in enumerate(zip(vehicles, plates, strict=True)):
            y = round((f - start) * speed) - plate.shape[0] * 2
            ph, pw = plate.shape[:2]
            if y >= 0 and y + ph <= height and 0 <= lane_x <= width - pw:
                visible[v].append(f)
            body = (max(0, lane_x - pw // 3), max(0, y - 2 * ph),
                    min(width, lane_x + pw + pw // 3), min(height, y + 2 * ph))
            if body[1] < body[3] and body[0] < body[2]:
                cv2.rectangle(frame, body[:2], body[2:], (40, 40, 45), -1)
        for (_, start, lane_x), plate in zip(vehicles, plates, strict=True):  # plates on top
            ph, pw = plate.shape[:2]
            x0, y0 = lane_x, round((f - start) * speed) - ph * 2
            xs, ys = slice(max(0, x0), min(width, x0 + pw)), slice(max(0, y0), min(height, y0 + ph))
            if xs.start < xs.stop and ys.start < ys.stop:
                frame[ys, xs] = plate[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]
        noisy = frame.astype(np.int16) + rng.integers(-3, 4, frame.shape, dtype=np.int16)
        out.append(np.asarray(np.clip(noisy, 0, 255), np.uint8))
    return out, visible


def write_video(path: Path, *, vehicles: int = 3, frames: int = 48, fps: float = 12.0,
                size: tuple[int, int] = (1280, 720), seed: int = 0) -> list[SyntheticVehicle]:
    """Write an mp4 (``mp4v``) of plates crossing a road; return the ground truth."""
    rng = np.random.default_rng(seed)
    specs = [random_plate(rng, colour="yellow" if rng.random() < 0.3 else "white")
             for _ in range(vehicles)]
    plan = _traffic(specs, frames=frames, size=size)
    images, visible = scene_frames(plan, frames=frames, size=size, seed=seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    try:
        for image in images:
            writer.write(image)
    finally:
        writer.release()
    return [SyntheticVehicle(spec, seen[0], seen[-1])
            for (spec, _, _), seen in zip(plan, visible, strict=True) if seen]


def _clutter(width: int, height: int, rng: np.random.Generator) -> Image:
    """A busy background: lit gradient, noise, and many filled and outlined rectangles
    (bodies, lights, windows, signs) with sharp edges, some plate-sized."""
    scene = np.full((height, width, 3), rng.integers(40, 160, 3), np.float32)
    scene *= np.linspace(0.7, 1.2, height, dtype=np.float32)[:, None, None]
    scene += rng.normal(0, 5, (height, width, 1))
    image = np.asarray(np.clip(scene, 0, 255), np.uint8)
    for _ in range(40):
        w, h = (int(v) for v in rng.integers(20, max(21, width // 3), 2))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(image, (x, y), (x + w, y + h // 2), colour,
                      -1 if rng.random() < 0.7 else int(rng.integers(2, 6)))
    return image


def context_photo(spec: PlateSpec, rng: np.random.Generator, *,
                  size: tuple[int, int] = (1600, 1200), plate_width: int = 300
                  ) -> tuple[Image, tuple[int, int, int, int]]:
    """A photo of a whole vehicle or street scene (``size``) holding the plate
    ``plate_width`` pixels wide on a vehicle body, degraded (:func:`degrade`), at a
    random place; the image and the plate's box ``(x0, y0, x1, y1)``."""
    width, height = size
    image = _clutter(width, height, rng)
    flat = render_plate(spec, px_per_mm=plate_width / render_plate(spec).shape[1])
    plate = degrade(flat, rng)
    ph, pw = plate.shape[:2]
    pad = (ph - flat.shape[0]) // 2
    x = int(rng.integers(pw // 2, width - 3 * pw // 2))
    y = int(rng.integers(ph, height - 2 * ph))
    body = tuple(int(c) for c in rng.integers(20, 250, 3))  # light bodies merge with plates
    cv2.rectangle(image, (x - pw // 2, y - ph), (x + 3 * pw // 2, y + 2 * ph), body, -1)
    for _ in range(3):  # bumper, lights, mudguard: edges touching the plate
        bx, by = x + int(rng.integers(-pw // 2, pw)), y + (ph if rng.random() < 0.5 else -ph // 3)
        cv2.rectangle(image, (bx, by), (bx + int(rng.integers(pw // 4, pw)), by + ph // 3),
                      tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
    image[y : y + ph, x : x + pw] = plate
    return image, (x + pad, y + pad, x + pw - pad, y + ph - pad)
