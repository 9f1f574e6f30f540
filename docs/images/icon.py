"""Draws the extension icon (docs/images/icon.png, 128 x 128): two task circles that overlap in
one shared region, i.e. two adapters merged into one pass. Original art, reproducible:

    lab/.venv/bin/python docs/images/icon.py
"""

from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

SIZE = 128
SCALE = 8  # drawn large, then downsampled for smooth edges
S = SIZE * SCALE

BACKGROUND = (30, 41, 59, 255)  # slate
LEFT = (56, 189, 248)  # sky blue: the main task
RIGHT = (251, 146, 60)  # orange: the auxiliary task
OVERLAP = (250, 250, 250)  # the calibrated merge


def disc(center_x: float, center_y: float, radius: float) -> Image.Image:
    mask = Image.new("L", (S, S), 0)
    ImageDraw.Draw(mask).ellipse(
        (center_x - radius, center_y - radius, center_x + radius, center_y + radius), fill=255
    )
    return mask


def main() -> None:
    icon = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    ImageDraw.Draw(icon).rounded_rectangle((0, 0, S - 1, S - 1), radius=S * 0.22, fill=BACKGROUND)
    radius = S * 0.27
    left = disc(S * 0.38, S * 0.5, radius)
    right = disc(S * 0.62, S * 0.5, radius)
    both = ImageChops.multiply(left, right)
    icon.paste(Image.new("RGBA", (S, S), LEFT + (255,)), mask=left)
    icon.paste(Image.new("RGBA", (S, S), RIGHT + (255,)), mask=right)
    icon.paste(Image.new("RGBA", (S, S), OVERLAP + (255,)), mask=both)
    out = Path(__file__).with_name("icon.png")
    icon.resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(out, optimize=True)
    print(f"{out}: {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
