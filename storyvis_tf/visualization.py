"""Pictures of stories for people: the sample grids of training, the data preview of the demo and
the real-vs-generated grids of the evaluator all come from here."""
import textwrap

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_CELL = 128          # frames are enlarged (nearest) to at least this width
_FONT_SIZE = 11
_MARGIN = 4


def story_grid(images: np.ndarray, sentences: list[list[str]]) -> np.ndarray:
    """A picture of stories: one row per story, its frames left to right, each frame's sentence
    printed under it.

    images: uint8 [S, T, H, W, 3]; sentences: S lists of T strings. Returns uint8 [h, w, 3].
    """
    stories, frames, height, width = images.shape[:4]
    scale = max(1, -(-_CELL // width))
    cell_width, cell_height = width * scale, height * scale
    font = ImageFont.load_default(size=_FONT_SIZE)
    chars_per_line = max(8, int(cell_width / (0.55 * _FONT_SIZE)))
    wrapped = [[textwrap.wrap(sentence, chars_per_line) or [""] for sentence in story]
               for story in sentences]
    line_height = _FONT_SIZE + 2
    text_heights = [max(len(lines) for lines in story) * line_height for story in wrapped]
    grid = Image.new("RGB", (frames * (cell_width + _MARGIN) + _MARGIN,
                             sum(cell_height + h + 2 * _MARGIN for h in text_heights) + _MARGIN),
                     "white")
    draw = ImageDraw.Draw(grid)
    top = _MARGIN
    for story in range(stories):
        for frame in range(frames):
            left = _MARGIN + frame * (cell_width + _MARGIN)
            picture = Image.fromarray(images[story, frame]).resize((cell_width, cell_height),
                                                                   Image.NEAREST)
            grid.paste(picture, (left, top))
            for line, text in enumerate(wrapped[story][frame]):
                draw.text((left, top + cell_height + _MARGIN + line * line_height), text,
                          fill="black", font=font)
        top += cell_height + text_heights[story] + 2 * _MARGIN
    return np.asarray(grid)


def to_uint8(images) -> np.ndarray:
    """Images in [-1, 1] -> uint8 [0, 255]."""
    pixels = np.round((np.asarray(images, np.float32) + 1.0) * 127.5)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def relation_heat_maps(frame: np.ndarray, relations: dict[int, np.ndarray],
                       words: list[str]) -> np.ndarray:
    """The BWSA relation matrix of one frame as heat maps (main paper, Fig. 5): one row per
    attention stage, the frame first, then one panel per word with the word under it.

    frame: uint8 [H, W, 3]; relations: {r: float32 [len(words), r, r]} (alpha in [-1, 1], r
    dividing H and W); words: the words the maps belong to. Returns uint8 [h, w, 3]. Each word's
    map is laid over the grey frame in a diverging colour scale, blue (< 0, the word pushes the
    region down) through white (0) to red (> 0); the scale of each row is its largest |alpha|,
    printed under the frame, so that the weak relations of a young model stay visible.
    """
    height, width = frame.shape[:2]
    grey = np.repeat(frame.mean(axis=-1, keepdims=True), 3, axis=-1)
    panels, captions = [], []
    for resolution in sorted(relations):
        alpha = np.asarray(relations[resolution], np.float32)
        scale = float(np.abs(alpha).max(initial=0.0)) or 1.0  # no words: no maps to scale
        upsampled = alpha.repeat(height // resolution, axis=1).repeat(width // resolution, axis=2)
        heat = _diverging_colours(upsampled / scale)
        panels.append([frame, *np.round(0.4 * grey + 0.6 * heat).astype(np.uint8)])
        captions.append([f"{resolution}x{resolution}, scale ±{scale:.2g}", *words])
    return story_grid(np.asarray(panels), captions)


def _diverging_colours(values: np.ndarray) -> np.ndarray:
    """float32 [...] in [-1, 1] -> [..., 3] RGB: blue at -1, white at 0, red at +1."""
    values = np.clip(values, -1.0, 1.0)[..., None]
    white, red, blue = (np.array(c, np.float32) for c in
                        ((255, 255, 255), (178, 24, 43), (33, 102, 172)))
    toward = np.where(values >= 0, red, blue)
    return white + np.abs(values) * (toward - white)
