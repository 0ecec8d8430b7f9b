"""The round red seal PNG."""

from __future__ import annotations

import io

import pytest
from eseal_svc.adapters.crypto.seal_image import SEAL_SIZE_PX, render_seal_png
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rgba(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.verify()  # raises on a corrupt PNG
    return Image.open(io.BytesIO(png)).convert("RGBA")


def _pixel(image: Image.Image, x: int, y: int) -> tuple[int, int, int, int]:
    value = image.getpixel((x, y))
    assert isinstance(value, tuple) and len(value) == 4
    return (int(value[0]), int(value[1]), int(value[2]), int(value[3]))


def _red_pixels(image: Image.Image) -> int:
    raw = image.tobytes()  # RGBA, 4 bytes a pixel
    return sum(
        1
        for i in range(0, len(raw), 4)
        if raw[i + 3] > 128 and raw[i] > 200 and raw[i + 1] < 60 and raw[i + 2] < 60
    )


@pytest.mark.parametrize("name", ["广州市某局", "Guangdong Data Administration"])
def test_seal_is_a_valid_png_of_the_expected_size_with_red_ink(name: str) -> None:
    png = render_seal_png(name, bottom_text="合同专用章")
    assert png.startswith(PNG_SIGNATURE)
    image = _rgba(png)
    assert image.size == (SEAL_SIZE_PX, SEAL_SIZE_PX)
    assert _red_pixels(image) > 0.05 * SEAL_SIZE_PX * SEAL_SIZE_PX
    assert _pixel(image, SEAL_SIZE_PX // 2, SEAL_SIZE_PX // 2)[3] == 255  # the star's centre
    assert _pixel(image, 0, 0)[3] == 0  # transparent outside the ring
    assert _pixel(image, SEAL_SIZE_PX // 2, 3 * SEAL_SIZE_PX // 100)[:3] == (230, 0, 18)  # on the ring


def test_rendering_is_deterministic_and_depends_on_the_name() -> None:
    first = render_seal_png("Fujian Archives")
    assert first == render_seal_png("Fujian Archives")
    assert first != render_seal_png("Fujian Archive")


def test_the_name_adds_ink_on_the_rim() -> None:
    empty = _red_pixels(_rgba(render_seal_png("")))
    named = _red_pixels(_rgba(render_seal_png("Tongban Seal Authority")))
    chinese = _red_pixels(_rgba(render_seal_png("广东省政务服务数据管理局")))
    assert named > empty
    assert chinese > empty  # drawn with a CJK font, or as one mark per character without one


def test_other_sizes_and_limits() -> None:
    assert _rgba(render_seal_png("x", size_px=128)).size == (128, 128)
    with pytest.raises(ValueError, match="size_px"):
        render_seal_png("x", size_px=10)


def test_a_missing_font_file_falls_back() -> None:
    png = render_seal_png("Fallback", font_path="/nonexistent/font.ttf")
    assert _rgba(png).size == (SEAL_SIZE_PX, SEAL_SIZE_PX)
