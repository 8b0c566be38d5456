"""The embedded synthetic story dataset: a fixed cast, per-story scenes, rendered stories with exact
ground truth.

In the spirit of Pororo-SV (a recurring cast of named characters, one sentence per frame) and
CLEVR-SV (a known renderer, so every frame's ground truth is exact): a story is 5 frames over one
background; 1-3 of the 9 characters recur across its frames, each frame placing the characters
present in distinct slots (left / middle / right, near or far) doing one visible action. Each
sentence names every character present with its place and action, in varied phrasings.

A story is a pure function of one integer seed (numpy + PIL only, no TensorFlow), so any story can
be regenerated alone inside a Beam worker. Separate random streams drive the layout, the wording
and the scenery, so changing a phrasing table never moves a character.
"""
import dataclasses
import functools

import numpy as np
from PIL import Image, ImageDraw

from storyvis_tf.data.story import Story
from storyvis_tf.text.vocabulary import tokenize

MIN_IMAGE_SIZE = 32            # below this the characters' distinguishing features vanish
MAX_SENTENCE_WORDS = 24        # fits configs data.max_sentence_length, so no word is truncated

BACKGROUNDS = ("meadow", "beach", "snow", "night", "room")
POSITIONS = ("left", "middle", "right")
DEPTHS = ("near", "far")
ACTIONS = ("standing", "jumping", "sitting", "waving", "sleeping")

# --- layout, as fractions of the frame side --------------------------------------------------
_SUPERSAMPLE = 4                                   # drawn k x larger, box-filtered down
_HORIZON = 0.55
_SLOT_X = {"left": 0.19, "middle": 0.5, "right": 0.81}
_FEET_Y = {"near": 0.95, "far": 0.66}              # far characters stand nearer the horizon
_DEPTH_SCALE = {"near": 1.0, "far": 0.7}
_WIDTH, _HEIGHT = 0.28, 0.42                       # a near standing character
_JUMP = 0.12                                       # lift of a jumping character (near)
_SITTING_HEIGHT = 0.87                             # legs folded: shorter, feet still on the ground
_LYING_SCALE = 0.82                                # a sleeper lies down and must fit its slot
_SHADOW_ALPHA, _SHADOW_HEIGHT = 0.3, 0.05
_OUTLINE = (35, 30, 40)
_LIMB = (45, 40, 50)


@dataclasses.dataclass(frozen=True)
class Character:
    """One member of the cast: a body shape, a colour and one distinguishing feature."""

    name: str
    body: str      # a key of _BODIES
    colour: tuple[int, int, int]
    feature: str   # a key of _FEATURES


CAST = (
    Character("Pip", "round", (220, 50, 50), "cat_ears"),
    Character("Kiki", "round", (245, 205, 40), "beak"),
    Character("Bruno", "rounded", (140, 90, 50), "bear_ears"),
    Character("Zara", "tall", (60, 165, 80), "stripes"),
    Character("Momo", "round", (250, 150, 195), "bunny_ears"),
    Character("Tiko", "square", (50, 90, 215), "top_hat"),
    Character("Lulu", "bell", (145, 75, 190), "crown"),
    Character("Rex", "rounded", (250, 140, 30), "spots"),
    Character("Nova", "square", (70, 205, 215), "antenna"),
)
CHARACTER_NAMES = tuple(c.name for c in CAST)


@dataclasses.dataclass(frozen=True)
class Placement:
    """One character in one frame: where it is and what it does."""

    character: int
    position: str
    depth: str
    action: str


@dataclasses.dataclass(frozen=True)
class StoryPlan:
    """Everything a story shows, before words or pixels."""

    background: str
    frames: tuple[tuple[Placement, ...], ...]


# --- the story ---------------------------------------------------------------------------------
_CAST_SIZE_P = (0.25, 0.45, 0.3)   # P(cast of 1, 2, 3 characters)
_PRESENCE_P = 0.7                  # P(a cast member is in a given frame)
_FAR_P = 0.3                       # P(a character stands far, smaller and higher)


def plan_story(rng: np.random.Generator, num_frames: int) -> StoryPlan:
    """Draws a background, a cast of 1-3 and, per frame, who is present, where and doing what.

    Every frame shows at least one cast member and every cast member appears at least once, so
    the cast recurs across the story (consistency matters) while frames still differ.
    """
    background = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    cast_size = int(rng.choice(len(_CAST_SIZE_P), p=_CAST_SIZE_P)) + 1
    cast = tuple(int(c) for c in rng.choice(len(CAST), size=cast_size, replace=False))
    present = rng.random((num_frames, cast_size)) < _PRESENCE_P
    for t in np.flatnonzero(~present.any(axis=1)):
        present[t, rng.integers(cast_size)] = True
    for c in np.flatnonzero(~present.any(axis=0)):
        present[rng.integers(num_frames), c] = True
    frames = []
    for row in present:
        members = [cast[c] for c in np.flatnonzero(row)]
        slots = rng.choice(len(POSITIONS), size=len(members), replace=False)
        frames.append(tuple(sorted(
            (Placement(character=m, position=POSITIONS[s],
                       depth=DEPTHS[int(rng.random() < _FAR_P)],
                       action=ACTIONS[rng.integers(len(ACTIONS))])
             for m, s in zip(members, slots)),
            key=lambda p: POSITIONS.index(p.position))))
    return StoryPlan(background=background, frames=tuple(frames))


# --- the sentences -----------------------------------------------------------------------------
# The first entry of every table is the shortest; `describe_frame` falls back to those alone when a
# varied sentence would exceed MAX_SENTENCE_WORDS.

_VERBS = {
    "standing": ("stands", "is standing", "waits", "stands still", "is waiting"),
    "jumping": ("jumps", "is jumping", "hops", "leaps", "jumps up", "is hopping"),
    "sitting": ("sits", "is sitting", "sits down", "takes a seat", "is sitting down"),
    "waving": ("waves", "is waving", "waves hello", "waves a hand", "is waving hello"),
    "sleeping": ("sleeps", "is sleeping", "is asleep", "naps", "dozes", "is napping"),
}
_GERUNDS = {
    "standing": ("standing", "waiting", "standing still"),
    "jumping": ("jumping", "hopping", "leaping"),
    "sitting": ("sitting", "sitting down", "taking a seat"),
    "waving": ("waving", "waving hello", "waving a hand"),
    "sleeping": ("sleeping", "napping", "dozing"),
}
_PLACES = {
    "left": ("on the left", "at the left", "on the left side", "to the left"),
    "middle": ("in the middle", "in the centre", "in the center", "at the centre"),
    "right": ("on the right", "at the right", "on the right side", "to the right"),
}
_FAR = ("far away", "in the back", "in the distance")
_NEAR = ("in front", "up front")
_SCENES = {
    "meadow": ("on the meadow", "in the meadow", "on the grass", "in the field"),
    "beach": ("at the beach", "on the beach", "by the sea", "on the sand"),
    "snow": ("in the snow", "on the snowy field", "in the cold snow"),
    "night": ("at night", "under the stars", "in the dark night"),
    "room": ("in the room", "inside the house", "indoors", "at home"),
}
_SEEING = ("we see", "you can see", "there is")


def describe_frame(frame: tuple[Placement, ...], background: str,
                   rng: np.random.Generator) -> str:
    """One sentence naming every character of `frame` with its place and action.

    Mentions come in random order, as plain clauses ("Pip hops on the left"), a fronted place
    ("On the left, Pip hops") or a seeing opener ("We see Pip hopping on the left"); about a third
    of the sentences also mention the background.
    """
    order = [frame[i] for i in rng.permutation(len(frame))]
    sentence = _varied_sentence(order, background, rng)
    if len(tokenize(sentence)) > MAX_SENTENCE_WORDS:
        sentence = _plain_sentence(order)
    return sentence[0].upper() + sentence[1:] + "."


def _varied_sentence(order: list[Placement], background: str, rng: np.random.Generator) -> str:
    def pick(options):
        return options[rng.integers(len(options))]

    if rng.random() < 0.25:
        opener = pick(_SEEING)
        body = f"{opener} " + _join(f"{CAST[p.character].name} {pick(_GERUNDS[p.action])} "
                                    f"{_place(p, rng)}" for p in order)
    else:
        clauses = [f"{CAST[p.character].name} {pick(_VERBS[p.action])} {_place(p, rng)}"
                   for p in order]
        if rng.random() < 0.3:   # fronted place: "On the left, Pip jumps"
            p = order[0]
            clauses[0] = f"{_place(p, rng)}, {CAST[p.character].name} {pick(_VERBS[p.action])}"
        body = _join(clauses)
    if rng.random() < 0.35:
        scene = pick(_SCENES[background])
        body = f"{scene}, {body}" if rng.random() < 0.5 else f"{body} {scene}"
    return body


def _plain_sentence(order: list[Placement]) -> str:
    """The shortest wording (first table entries, no scene): at most 22 words for 3 characters."""
    return _join(f"{CAST[p.character].name} {_VERBS[p.action][0]} "
                 f"{_FAR[0] + ' ' if p.depth == 'far' else ''}{_PLACES[p.position][0]}"
                 for p in order)


def _place(p: Placement, rng: np.random.Generator) -> str:
    """Slot phrase plus depth: far is always said, near sometimes ("in front")."""
    slot = _PLACES[p.position][rng.integers(len(_PLACES[p.position]))]
    if p.depth == "far":
        depth = _FAR[rng.integers(len(_FAR))]
    elif rng.random() < 0.2:
        depth = _NEAR[rng.integers(len(_NEAR))]
    else:
        return slot
    return f"{depth} {slot}" if rng.random() < 0.5 else f"{slot} {depth}"


def _join(clauses) -> str:
    clauses = list(clauses)
    return clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]


# --- the pixels --------------------------------------------------------------------------------

def character_box(p: Placement, size: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in pixels of the frame, x1/y1 exclusive: the character's sprite exactly."""
    width, height = _sprite_size(p, size)
    scale = _DEPTH_SCALE[p.depth]
    lift = round(_JUMP * scale * size) if p.action == "jumping" else 0
    x0 = round(_SLOT_X[p.position] * size - width / 2)
    y1 = round(_FEET_Y[p.depth] * size) - lift
    return x0, y1 - height, x0 + width, y1


def _standing_size(depth: str, size: int) -> tuple[int, int]:
    scale = _DEPTH_SCALE[depth]
    return round(_WIDTH * scale * size), round(_HEIGHT * scale * size)


def _sprite_size(p: Placement, size: int) -> tuple[int, int]:
    width, height = _standing_size(p.depth, size)
    if p.action == "sitting":
        return width, round(height * _SITTING_HEIGHT)
    if p.action == "sleeping":
        return round(height * _LYING_SCALE), round(width * _LYING_SCALE)
    return width, height


def render_frame(frame: tuple[Placement, ...], scene: np.ndarray) -> np.ndarray:
    """Composites the frame's characters (far ones first) and their shadows over `scene`.

    scene: float32 [S, S, 3] in [0, 255]; returns uint8 [S, S, 3].
    """
    size = scene.shape[0]
    image = scene.copy()
    for p in sorted(frame, key=lambda p: p.depth != "far"):
        x0, y0, x1, _ = character_box(p, size)
        width, height = _standing_size(p.depth, size)
        # The shadow stays on the ground under a jumper: it is what shows the jump.
        shadow_width = x1 - x0 if p.action == "sleeping" else width
        shadow_height = max(2, round(_SHADOW_HEIGHT * _DEPTH_SCALE[p.depth] * size))
        _composite(image, _shadow(shadow_width, shadow_height),
                   round(_SLOT_X[p.position] * size - shadow_width / 2),
                   round(_FEET_Y[p.depth] * size - shadow_height / 2))
        _composite(image, _sprite(p.character, p.action, width, height), x0, y0)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _composite(image: np.ndarray, layer: tuple[np.ndarray, np.ndarray], x0: int, y0: int) -> None:
    """Premultiplied "over" of layer = (rgb * alpha, alpha) at (x0, y0), in place."""
    rgb, alpha = layer
    h, w = alpha.shape[:2]
    region = image[y0:y0 + h, x0:x0 + w]
    region *= 1.0 - alpha
    region += rgb


@functools.lru_cache(maxsize=64)
def _shadow(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    k = _SUPERSAMPLE
    mask = Image.new("L", (width * k, height * k), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, width * k - 1, height * k - 1), fill=255)
    alpha = np.asarray(mask.reduce(k), np.float32)[..., None] / 255.0 * _SHADOW_ALPHA
    return np.zeros((height, width, 3), np.float32), alpha


@functools.lru_cache(maxsize=1024)
def _sprite(character: int, action: str, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The premultiplied (rgb, alpha) sprite of one character in one pose, standing size w x h.

    Drawn on a transparent canvas k times larger and box-filtered down (Pillow's reduce weighs
    colour by alpha), so edges come out antialiased; `_composite` blends the premultiplied form.
    """
    if action == "sleeping":
        width, height = round(width * _LYING_SCALE), round(height * _LYING_SCALE)
    canvas_height = round(height * _SITTING_HEIGHT) if action == "sitting" else height
    k = _SUPERSAMPLE
    image = Image.new("RGBA", (width * k, canvas_height * k), (0, 0, 0, 0))
    _draw_character(ImageDraw.Draw(image), CAST[character], action, width * k, height * k)
    image = image.reduce(k)
    if action == "sleeping":   # lies down, head to the left
        image = image.transpose(Image.Transpose.ROTATE_90)
    pixels = np.asarray(image, np.float32)
    alpha = pixels[..., 3:] / 255.0
    return pixels[..., :3] * alpha, alpha


def _draw_character(draw: ImageDraw.ImageDraw, character: Character, action: str,
                    width: float, height: float) -> None:
    """Arms, legs, the feature's back part, body, the feature's front part and face, in painting
    order. Coordinates are fractions (u across, v down) of the standing sprite; sitting crops the
    canvas just below the body and folds the legs sideways in front of it."""
    def xy(*uv):
        return [(u * width, v * height) for u, v in zip(uv[::2], uv[1::2])]

    line = max(1, round(width * 0.045))
    limb = max(2, round(width * 0.08))
    colour = character.colour
    for shoulder, hand in zip(((0.3, 0.52), (0.7, 0.52)), _HANDS[action]):
        draw.line(xy(*shoulder, *hand), fill=_LIMB, width=limb)
        (x, y), = xy(*hand)
        r = limb * 0.9
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=_OUTLINE, width=line)
    legs = _LEGS.get(action, _LEGS["standing"])
    if action != "sitting":
        for leg in legs:
            draw.line(xy(*leg), fill=_LIMB, width=limb)
    behind, in_front = _FEATURES[character.feature]
    if behind:
        behind(draw, xy, colour, line)
    body = _BODIES[character.body]
    if character.body == "bell":
        draw.polygon(xy(*body), fill=colour, outline=_OUTLINE, width=line)
    elif character.body in ("square", "rounded"):
        radius = (0.06 if character.body == "square" else 0.2) * width
        draw.rounded_rectangle(_flat(xy(*body)), radius, fill=colour, outline=_OUTLINE, width=line)
    else:
        draw.ellipse(_flat(xy(*body)), fill=colour, outline=_OUTLINE, width=line)
    if in_front:
        in_front(draw, xy, colour, line)
    if action == "sitting":
        for leg in legs:
            draw.line(xy(*leg), fill=_LIMB, width=limb)
    _draw_face(draw, xy, character, asleep=action == "sleeping", line=line)


def _flat(points):
    (x0, y0), (x1, y1) = points
    return x0, y0, x1, y1


_HANDS = {"standing": ((0.04, 0.74), (0.96, 0.74)), "sitting": ((0.03, 0.62), (0.97, 0.62)),
          "sleeping": ((0.06, 0.76), (0.94, 0.76)), "waving": ((0.04, 0.74), (0.98, 0.1)),
          "jumping": ((0.02, 0.14), (0.98, 0.14))}
_LEGS = {"standing": ((0.38, 0.8, 0.36, 0.99), (0.62, 0.8, 0.64, 0.99)),
         "jumping": ((0.4, 0.8, 0.22, 0.98), (0.6, 0.8, 0.78, 0.98)),
         "sitting": ((0.46, 0.81, 0.04, 0.83), (0.54, 0.81, 0.96, 0.83))}
_BODIES = {
    "round": (0.14, 0.26, 0.86, 0.86),
    "tall": (0.2, 0.06, 0.8, 0.86),
    "square": (0.14, 0.26, 0.86, 0.86),
    "rounded": (0.14, 0.24, 0.86, 0.86),
    "bell": (0.34, 0.22, 0.66, 0.22, 0.88, 0.86, 0.12, 0.86),
}
_EYE_V = {"tall": 0.26}


def _draw_face(draw, xy, character: Character, asleep: bool, line: int) -> None:
    v = _EYE_V.get(character.body, 0.42)
    if character.feature == "antenna":   # a robot's visor instead of eyes
        draw.rectangle(_flat(xy(0.24, v - 0.06, 0.76, v + 0.06)), fill=(25, 30, 45))
        if not asleep:
            for u in (0.36, 0.64):
                draw.rectangle(_flat(xy(u - 0.06, v - 0.025, u + 0.06, v + 0.025)),
                               fill=(255, 240, 90))
        return
    (ex, ey), = xy(0.1, 0.06)   # eye radii
    for u in (0.36, 0.64):
        (x, y), = xy(u, v)
        if asleep:
            draw.line((x - ex, y, x + ex, y), fill=_OUTLINE, width=line)
        else:
            draw.ellipse((x - ex, y - ey, x + ex, y + ey), fill=(255, 255, 255))
            draw.ellipse((x - ex / 2, y - ey * 0.3, x + ex / 2, y + ey * 0.7), fill=(20, 20, 25))


def _ears(points, inner=()):
    """Ears in the body colour, behind the body: an ellipse (u0, v0, u1, v1) or a polygon per ear,
    plus pale inner ellipses."""
    def draw_ears(draw, xy, colour, line):
        for ear in points:
            if len(ear) == 4:
                draw.ellipse(_flat(xy(*ear)), fill=colour, outline=_OUTLINE, width=line)
            else:
                draw.polygon(xy(*ear), fill=colour, outline=_OUTLINE, width=line)
        for lining in inner:
            draw.ellipse(_flat(xy(*lining)), fill=(255, 235, 235))
    return draw_ears


def _antenna(draw, xy, colour, line):
    draw.line(xy(0.5, 0.26, 0.5, 0.09), fill=_OUTLINE, width=line * 2)
    (x, y), = xy(0.5, 0.08)
    (r, _), = xy(0.1, 0)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=(230, 40, 40), outline=_OUTLINE, width=line)


def _crest(draw, xy, colour, line):
    draw.polygon(xy(0.4, 0.3, 0.44, 0.04, 0.52, 0.22, 0.62, 0.08, 0.6, 0.3), fill=(230, 50, 40),
                 outline=_OUTLINE, width=line)


def _beak(draw, xy, colour, line):
    draw.polygon(xy(0.36, 0.52, 0.64, 0.52, 0.5, 0.68), fill=(240, 110, 20), outline=_OUTLINE,
                 width=line)


def _stripes(draw, xy, colour, line):
    for v in (0.5, 0.62, 0.74):   # chords of the tall ellipse body
        half = 0.3 * np.sqrt(1.0 - ((v - 0.46) / 0.4) ** 2) - 0.03
        draw.line(xy(0.5 - half, v, 0.5 + half, v), fill=(20, 60, 30), width=line * 2)


def _top_hat(draw, xy, colour, line):
    draw.rectangle(_flat(xy(0.28, 0.0, 0.72, 0.24)), fill=(20, 20, 25))
    draw.rectangle(_flat(xy(0.28, 0.17, 0.72, 0.22)), fill=(200, 30, 40))
    draw.rectangle(_flat(xy(0.1, 0.22, 0.9, 0.28)), fill=(20, 20, 25))


def _crown(draw, xy, colour, line):
    draw.polygon(xy(0.3, 0.26, 0.3, 0.06, 0.4, 0.16, 0.5, 0.02, 0.6, 0.16, 0.7, 0.06, 0.7, 0.26),
                 fill=(255, 215, 0), outline=_OUTLINE, width=line)


def _spots(draw, xy, colour, line):
    for u, v, r in ((0.3, 0.66, 0.07), (0.6, 0.74, 0.08), (0.72, 0.56, 0.06), (0.24, 0.32, 0.05),
                    (0.5, 0.28, 0.05)):
        draw.ellipse(_flat(xy(u - r, v - r * 0.7, u + r, v + r * 0.7)), fill=(110, 55, 15))


# feature -> (drawn behind the body, drawn in front of it)
_FEATURES = {
    "cat_ears": (_ears(((0.16, 0.4, 0.22, 0.02, 0.46, 0.32), (0.84, 0.4, 0.78, 0.02, 0.54, 0.32))),
                 None),
    "beak": (_crest, _beak),
    "bear_ears": (_ears(((0.1, 0.1, 0.38, 0.36), (0.62, 0.1, 0.9, 0.36)),
                        inner=((0.17, 0.16, 0.31, 0.28), (0.69, 0.16, 0.83, 0.28))), None),
    "stripes": (None, _stripes),
    "bunny_ears": (_ears(((0.24, 0.0, 0.44, 0.4), (0.56, 0.0, 0.76, 0.4)),
                         inner=((0.295, 0.06, 0.385, 0.32), (0.615, 0.06, 0.705, 0.32))), None),
    "top_hat": (None, _top_hat),
    "crown": (None, _crown),
    "spots": (None, _spots),
    "antenna": (_antenna, None),
}


def render_scene(background: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """The story's background, float32 [size, size, 3]: sky and ground plus scenery (sun or moon,
    clouds, stars, snowflakes, a window) placed once per story, so every frame shares it."""
    k = _SUPERSAMPLE
    s = size * k
    sky, ground = _SKY_GROUND[background]
    image = Image.new("RGB", (s, s), sky)
    draw = ImageDraw.Draw(image)
    horizon = round(_HORIZON * s)
    draw.rectangle((0, horizon, s, s), fill=ground)
    x = rng.uniform(0.1, 0.9) * s
    if background == "beach":
        draw.rectangle((0, round((_HORIZON - 0.09) * s), s, horizon), fill=(40, 120, 200))
    if background == "room":
        w, h, top = 0.22 * s, 0.2 * s, 0.12 * s
        draw.rectangle((x - w / 2, top, x + w / 2, top + h), fill=(150, 200, 245),
                       outline=(120, 80, 50), width=2 * k)
        draw.line((x, top, x, top + h), fill=(120, 80, 50), width=2 * k)
        draw.line((0, horizon, s, horizon), fill=(110, 80, 55), width=2 * k)
    else:
        r = 0.07 * s
        draw.ellipse((x - r, 0.14 * s - r, x + r, 0.14 * s + r), fill=_LIGHT[background])
    if background in ("night", "snow"):
        count = 14 if background == "night" else 24
        for px, py in zip(rng.uniform(0, s, count), rng.uniform(0, 0.45 * s, count)):
            draw.ellipse((px - k / 2, py - k / 2, px + k / 2, py + k / 2), fill=(255, 255, 240))
    if background in ("meadow", "beach"):
        for cx, cy in zip(rng.uniform(0, s, 2), rng.uniform(0.06 * s, 0.3 * s, 2)):
            for dx in (-0.06, 0.0, 0.06):
                r = (0.05 if dx else 0.07) * s
                draw.ellipse((cx + dx * s - r, cy - r * 0.7, cx + dx * s + r, cy + r * 0.7),
                             fill=(250, 250, 252))
    return np.asarray(image.reduce(k), np.float32)


_SKY_GROUND = {
    "meadow": ((140, 200, 240), (125, 195, 95)),
    "beach": ((125, 195, 245), (238, 218, 165)),
    "snow": ((185, 195, 212), (246, 247, 251)),
    "night": ((22, 28, 64), (38, 58, 52)),
    "room": ((232, 212, 178), (168, 128, 92)),   # wall, floor
}
_LIGHT = {"meadow": (255, 225, 60), "beach": (255, 225, 60), "snow": (255, 250, 225),
          "night": (240, 240, 205)}   # sun or moon; the room has a window instead


def generate_story(story_id: str, seed: int, num_frames: int = 5, image_size: int = 64) -> Story:
    """The story of `seed`: frames, sentences, multi-hot labels over CAST, exact annotations."""
    plan_rng, text_rng, scene_rng = (np.random.default_rng(s)
                                     for s in np.random.SeedSequence(seed).spawn(3))
    plan = plan_story(plan_rng, num_frames)
    scene = render_scene(plan.background, image_size, scene_rng)
    labels = np.zeros((num_frames, len(CAST)), np.float32)
    annotations = []
    for t, frame in enumerate(plan.frames):
        labels[t, [p.character for p in frame]] = 1.0
        annotations.append({"background": plan.background, "characters": [
            {"name": CAST[p.character].name, "index": p.character, "position": p.position,
             "depth": p.depth, "action": p.action, "box": list(character_box(p, image_size))}
            for p in frame]})
    return Story(
        story_id=story_id,
        frames=np.stack([render_frame(frame, scene) for frame in plan.frames]),
        sentences=[describe_frame(frame, plan.background, text_rng) for frame in plan.frames],
        labels=labels,
        sources=[f"synthetic:{story_id}/{t}" for t in range(num_frames)],
        annotations=annotations)
