"""The measurement behind ENLARGER_RENDER_WIDTHS' default (docs/keys.md, "The default
widths"): for each image width a gallery asks for (a CSS layout width times a device pixel
ratio of 1, 2 or 3, and full-screen device widths), the list's next width up serves it, and
the cost is the extra pixels sent, (served / needed)^2 - 1. Prints the mean and the worst
case for the default list and for the alternatives it was chosen over.

  python3 bench/render_widths.py"""

# CSS px: filmstrip and avatar thumbnails, grid cells, masonry and justified columns, phone
# viewports (360-430), tablet and two-column layouts, desktop content columns and lightboxes.
CSS = [48, 64, 96, 120, 150, 160, 200, 240, 256, 280, 300, 320, 360, 375, 390, 393, 400, 412,
       414, 428, 430, 600, 768, 810, 820, 834, 960, 1024, 1200, 1280, 1366, 1440, 1536, 1680,
       1920]
# Device px of full-screen views: phones (750-1290), tablets, laptops and monitors to 4K.
DEVICE = [640, 750, 828, 1080, 1125, 1170, 1179, 1242, 1284, 1290, 1280, 1366, 1440, 1536,
          1920, 2048, 2160, 2560, 2732, 2880, 3024, 3840]
NEEDS = sorted({min(c * d, 3840) for c in CSS for d in (1, 2, 3) if c * d >= 64} | set(DEVICE))

LISTS = {
    "default": [64, 128, 200, 300, 430, 600, 800, 1080, 1290, 1680, 2160, 2560, 3072, 3840],
    "828 for 800": [64, 128, 200, 300, 430, 600, 828, 1080, 1290, 1680, 2160, 2560, 3072, 3840],
    "powers of two and halves": [64, 128, 192, 256, 384, 512, 640, 828, 1080, 1280, 1600, 1920,
                                 2560, 3840],
    "Next.js deviceSizes + imageSizes >= 64": [64, 96, 128, 256, 384, 640, 750, 828, 1080,
                                               1200, 1920, 2048, 3840],
}


def extra(widths):
    worst, total = (0.0, 0), 0.0
    for n in NEEDS:
        w = min(x for x in widths if x >= n)
        e = (w / n) ** 2 - 1
        total += e
        worst = max(worst, (e, n))
    return total / len(NEEDS), worst


if __name__ == "__main__":
    print(f"{len(NEEDS)} widths needed, 64 to 3840")
    for name, widths in LISTS.items():
        mean, (w, at) = extra(widths)
        print(f"{name:40s} {len(widths):2d} widths: extra pixels mean {mean:.1%}, "
              f"worst {w:.0%} (at {at})")
