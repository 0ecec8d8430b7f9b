"""Round red seal images (PNG): the organisation's name around the rim and a star in the middle.

Fonts: a CJK font is looked up with fontconfig (``fc-list :lang=zh``) and in the usual font
folders. Without one, characters the fallback font cannot draw (typically every Chinese
character) are drawn as dots on the rim, one per character, so the image is still a valid,
recognisable seal of the same size; install e.g. Debian's fonts-noto-cjk or fonts-wqy-microhei
to get the name drawn. The output depends only on the inputs and the font found.
"""

from __future__ import annotations

import glob
import io
import math
import shutil
import subprocess
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

SEAL_SIZE_PX = 400
SEAL_DIAMETER_MM = 40
SEAL_RED = (230, 0, 18)
MAX_RIM_CHARACTERS = 40
_SUPERSAMPLE = 2
_LEVELS = 16
_CJK_GLOBS = (
    "/usr/share/fonts/**/*CJK*.tt[cf]",
    "/usr/share/fonts/**/*cjk*.tt[cf]",
    "/usr/share/fonts/**/wqy*.tt[cf]",
    "/usr/share/fonts/**/*SourceHan*.[ot]t[cf]",
    "/usr/share/fonts/**/uming.ttc",
    "/usr/share/fonts/**/ukai.ttc",
    "/usr/share/fonts/**/DroidSansFallback*.ttf",
)
_LATIN_GLOBS = ("/usr/share/fonts/**/DejaVuSans.ttf", "/usr/share/fonts/**/DejaVuSerif.ttf")
# Song/Ming (serif) faces look most like carved seal characters, so they are preferred.
_PREFERENCE = ("serif", "song", "ming", "uming", "sans", "hei")

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _rank(path: str) -> tuple[int, str]:
    lower = path.lower()
    score = next((i for i, word in enumerate(_PREFERENCE) if word in lower), len(_PREFERENCE))
    return score, path


def _fc_list(pattern: str) -> list[str]:
    executable = shutil.which("fc-list")
    if executable is None:
        return []
    try:
        result = subprocess.run(  # noqa: S603 - fixed executable and arguments, no shell
            [executable, pattern, "--format", "%{file}\n"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


@lru_cache(maxsize=1)
def find_cjk_font() -> str | None:
    """Path of an installed font that covers Chinese, or None."""
    candidates = set(_fc_list(":lang=zh"))
    for pattern in _CJK_GLOBS:
        candidates.update(glob.glob(pattern, recursive=True))
    return min(candidates, key=_rank) if candidates else None


@lru_cache(maxsize=1)
def _find_latin_font() -> str | None:
    for pattern in _LATIN_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return None


def _load_font(path: str | None, size: int) -> FontType:
    if path is not None:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def _glyph_mask(font: FontType, text: str) -> bytes:
    mask = font.getmask(text)
    return bytes(mask.size) + bytes(mask)


def _can_draw(font: FontType, character: str) -> bool:
    # Pillow has no glyph-coverage query: a missing glyph renders as the font's .notdef box,
    # so a character whose mask equals that of a private-use code point is not covered.
    if character.isspace():
        return True
    return _glyph_mask(font, character) != _glyph_mask(font, "\U0010fffd")


def _star(center: tuple[float, float], outer: float) -> list[tuple[float, float]]:
    inner = outer * 0.382  # inner/outer radius of a regular five-pointed star
    cx, cy = center
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = math.radians(-90 + 36 * k)
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _paste_character(
    mask: Image.Image, font: FontType, character: str, center: tuple[float, float], angle: float, box: int
) -> None:
    tile = Image.new("L", (box, box), 0)
    ImageDraw.Draw(tile).text((box / 2, box / 2), character, fill=255, font=font, anchor="mm")
    rotated = tile.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
    x = round(center[0] - rotated.width / 2)
    y = round(center[1] - rotated.height / 2)
    mask.paste(255, (x, y), rotated)


def render_seal_png(
    org_name: str,
    *,
    bottom_text: str = "",
    size_px: int = SEAL_SIZE_PX,
    font_path: str | None = None,
) -> bytes:
    """PNG bytes of a size_px x size_px round red seal on a transparent background."""
    if not 64 <= size_px <= 2048:
        raise ValueError("size_px must be between 64 and 2048")
    name = " ".join(org_name.split())[:MAX_RIM_CHARACTERS]
    chosen_font = font_path or find_cjk_font() or _find_latin_font()
    s = size_px * _SUPERSAMPLE
    center = (s / 2, s / 2)
    mask = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(mask)

    ring = 0.035 * s
    edge = 0.02 * s
    draw.ellipse((edge, edge, s - edge, s - edge), outline=255, width=round(ring))
    draw.polygon(_star(center, 0.16 * s), fill=255)

    count = max(len(name), 1)
    # Characters shrink and crowd as the name grows, inside a 240-degree arc over the top.
    span = min(240.0, 24.0 * count)
    font_size = round(min(0.13 * s, 0.13 * s * 10 / max(count, 10) ** 0.8))
    font = _load_font(chosen_font, font_size)
    radius = 0.48 * s - ring - edge - font_size * 0.62
    box = round(font_size * 1.5)
    for index, character in enumerate(name):
        angle = -span / 2 + span * (index + 0.5) / count
        theta = math.radians(angle)
        position = (center[0] + radius * math.sin(theta), center[1] - radius * math.cos(theta))
        if _can_draw(font, character):
            _paste_character(mask, font, character, position, angle, box)
        else:
            dot = font_size * 0.22
            draw.ellipse(
                (position[0] - dot, position[1] - dot, position[0] + dot, position[1] + dot), fill=255
            )

    label = bottom_text.strip()
    if label:
        label_font = _load_font(chosen_font, round(0.075 * s))
        if all(_can_draw(label_font, c) for c in label):
            draw.text((center[0], 0.74 * s), label, fill=255, font=label_font, anchor="mm")

    small = mask.resize((size_px, size_px), Image.Resampling.LANCZOS)
    # A 16-level palette of one red with rising opacity keeps the PNG small (it travels in
    # every SES_Signature) and keeps the anti-aliased edges.
    indexed = small.point(lambda v: (v * (_LEVELS - 1) + 127) // 255)
    indexed = indexed.convert("P")
    indexed.putpalette(list(SEAL_RED) * _LEVELS + [0, 0, 0] * (256 - _LEVELS))
    alpha = bytes(round(i * 255 / (_LEVELS - 1)) for i in range(_LEVELS))
    buffer = io.BytesIO()
    indexed.save(buffer, format="PNG", transparency=alpha, bits=4, optimize=False)
    return buffer.getvalue()
