"""The scene generator behind every embedded "shapes" dataset (classification, segmentation, detection, captions).

A scene is a textured background with clutter (thin lines, specks) and a list of coloured shapes. Everything is a
pure function of a seed, so each sample can be regenerated independently and identically on any machine.
Rendering returns the image and an instance map (which object owns each pixel, after occlusion), from which every
task's labels are derived: class folders, ADE-style label PNGs, COCO polygons and boxes, captions.
"""
import math
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ('circle', 'square', 'triangle', 'cross')
COLOURS = {
    'red': (214, 46, 40),
    'green': (36, 160, 72),
    'blue': (40, 84, 214),
    'yellow': (238, 200, 36),
}
# Muted colours for unlabelled distractor shapes: similar shapes, but never one of the labelled colours.
DISTRACTOR_COLOURS = ((128, 128, 128), (150, 120, 96), (96, 112, 128), (170, 170, 150))


@dataclass(frozen=True)
class ShapeObject:
    """One shape: its kind, colour name, centre (x, y) and radius in pixels, and rotation in radians."""
    shape: str
    colour: str
    center: Tuple[float, float]
    radius: float
    angle: float = 0.0

    def polygon(self) -> np.ndarray:
        """Outline as a (K, 2) float array of (x, y) vertices."""
        if self.shape == 'circle':
            t = np.linspace(0, 2 * math.pi, 32, endpoint=False)
            pts = np.stack([np.cos(t), np.sin(t)], 1)
        elif self.shape == 'square':
            pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * 0.8
        elif self.shape == 'triangle':
            t = np.array([-0.5, 1 / 6, 5 / 6]) * math.pi  # pointing up
            pts = np.stack([np.cos(t), np.sin(t)], 1)
        elif self.shape == 'cross':
            a, b = 1.0, 0.34
            pts = np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b], [b, a], [-b, a], [-b, b],
                            [-a, b], [-a, -b], [-b, -b]])
        else:
            raise ValueError(f'unknown shape {self.shape!r}; choose from {SHAPES}')
        c, s = math.cos(self.angle), math.sin(self.angle)
        rotated = pts @ np.array([[c, s], [-s, c]])
        return rotated * self.radius + np.asarray(self.center)

    def box(self) -> Tuple[float, float, float, float]:
        poly = self.polygon()
        return (*poly.min(0), *poly.max(0))


@dataclass
class Scene:
    """What is in an image: labelled shapes (bottom to top), unlabelled distractors and clutter lines."""
    size: int
    objects: List[ShapeObject]
    distractors: List[ShapeObject] = field(default_factory=list)
    lines: List[Tuple[Tuple[float, float, float, float], Tuple[int, int, int]]] = field(default_factory=list)
    background: Tuple[Tuple[int, int, int], Tuple[int, int, int]] = ((60, 60, 60), (90, 90, 90))
    noise_seed: int = 0


def scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one sample: independent of every other sample and of the order of generation."""
    return np.random.default_rng([seed, sum(ord(ch) * 31**i for i, ch in enumerate(split)) % 2**31, index])


def sample_object(rng: np.random.Generator, size: int, radius_range: Tuple[float, float],
                  shape: str = None, colour: str = None, region: Tuple[float, float, float, float] = None
                  ) -> ShapeObject:
    """A random shape fully inside the canvas (or inside ``region`` = x0, y0, x1, y1 of its centre)."""
    radius = rng.uniform(*radius_range) * size
    x0, y0, x1, y1 = region or (0, 0, size, size)
    x0, y0 = max(x0, radius), max(y0, radius)
    x1, y1 = min(x1, size - radius), min(y1, size - radius)
    center = (rng.uniform(x0, max(x0, x1)), rng.uniform(y0, max(y0, y1)))
    return ShapeObject(shape or SHAPES[rng.integers(len(SHAPES))], colour or list(COLOURS)[rng.integers(len(COLOURS))],
                       center, radius, angle=rng.uniform(-0.35, 0.35))


def overlap(a: ShapeObject, b: ShapeObject) -> float:
    """Intersection over the smaller box: 0 for disjoint shapes."""
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    w, h = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))


def sample_scene(rng: np.random.Generator, size: int, num_objects: Tuple[int, int], radius_range=(0.1, 0.22),
                 max_overlap: float = 0.3, num_lines: Tuple[int, int] = (2, 5), num_distractors=(0, 0),
                 fixed: Sequence[ShapeObject] = ()) -> Scene:
    """Random labelled shapes (plus ``fixed`` ones placed first) over clutter; overlaps limited by ``max_overlap``."""
    objects = list(fixed)
    target = len(objects) + int(rng.integers(num_objects[0], num_objects[1] + 1))
    for _ in range(200):
        if len(objects) >= target:
            break
        candidate = sample_object(rng, size, radius_range)
        if all(overlap(candidate, o) <= max_overlap for o in objects):
            objects.append(candidate)
    distractors = []
    for _ in range(int(rng.integers(num_distractors[0], num_distractors[1] + 1))):
        d = sample_object(rng, size, (0.05, 0.09))
        distractors.append(ShapeObject(d.shape, 'distractor', d.center, d.radius, d.angle))
    lines = []
    for _ in range(int(rng.integers(num_lines[0], num_lines[1] + 1))):
        grey = int(rng.integers(100, 200))
        lines.append((tuple(rng.uniform(0, size, 4)), (grey, grey, grey)))
    dark = tuple(int(v) for v in rng.integers(20, 90, 3))
    light = tuple(int(v) for v in np.clip(np.array(dark) + rng.integers(10, 50, 3), 0, 255))
    return Scene(size, objects, distractors, lines, (dark, light), int(rng.integers(2**31)))


def render(scene: Scene) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw a scene. Returns the RGB image (H, W, 3) uint8, the instance map (H, W) int32 where ``k`` > 0 marks
    pixels of ``scene.objects[k - 1]`` after occlusion, and a clutter mask (H, W) bool of line pixels on top."""
    size = scene.size
    t = np.linspace(0, 1, size)[:, None, None]
    dark, light = (np.array(c, dtype=np.float32) for c in scene.background)
    canvas = np.broadcast_to(dark * (1 - t) + light * t, (size, size, 3))
    image = Image.fromarray(canvas.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    instance = Image.new('I', (size, size), 0)
    draw_instance = ImageDraw.Draw(instance)
    for i, d in enumerate(scene.distractors):
        draw.polygon([tuple(p) for p in d.polygon()], fill=DISTRACTOR_COLOURS[i % len(DISTRACTOR_COLOURS)])
    for k, obj in enumerate(scene.objects, start=1):
        poly = [tuple(p) for p in obj.polygon()]
        draw.polygon(poly, fill=COLOURS[obj.colour])
        draw_instance.polygon(poly, fill=k)
    clutter = Image.new('L', (size, size), 0)
    draw_clutter = ImageDraw.Draw(clutter)
    for (x0, y0, x1, y1), grey in scene.lines:
        draw.line((x0, y0, x1, y1), fill=grey, width=1)
        draw_clutter.line((x0, y0, x1, y1), fill=1, width=1)
    noise = np.random.default_rng(scene.noise_seed).normal(0, 8, (size, size, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return pixels, np.asarray(instance, dtype=np.int32), np.asarray(clutter, dtype=bool)


def position_name(center: Tuple[float, float], size: int) -> str:
    """Where a point lies on a 3x3 grid: 'top left', 'top', ..., 'center', ..., 'bottom right'."""
    col = ('left', '', 'right')[min(int(center[0] / size * 3), 2)]
    row = ('top', '', 'bottom')[min(int(center[1] / size * 3), 2)]
    return ' '.join(p for p in (row, col) if p) or 'center'


def size_name(obj: ShapeObject, size: int) -> str:
    return 'large' if obj.radius >= 0.16 * size else 'small'


def describe(scene: Scene) -> str:
    """A caption derived from the scene: the count, then each shape's size, colour, kind and position, the largest
    shape first and the others in reading order (top to bottom, left to right)."""
    ordered = sorted(scene.objects, key=lambda o: (-o.radius, int(o.center[1] / scene.size * 3),
                                                   int(o.center[0] / scene.size * 3)))
    ordered = ordered[:1] + sorted(ordered[1:], key=lambda o: (int(o.center[1] / scene.size * 3),
                                                               int(o.center[0] / scene.size * 3)))
    parts = [f'a {size_name(o, scene.size)} {o.colour} {o.shape} at the {position_name(o.center, scene.size)}'
             for o in ordered]
    count = {1: 'one shape', 2: 'two shapes', 3: 'three shapes', 4: 'four shapes'}.get(len(parts),
                                                                                      f'{len(parts)} shapes')
    return f'{count}: ' + ', '.join(parts)
