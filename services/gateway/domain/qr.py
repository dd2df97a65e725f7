"""QR codes as SVG (no image library needed)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    text = out.getvalue().decode()
    return text[text.index("<svg"):] if "<svg" in text else text
