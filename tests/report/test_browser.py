"""The report rendered in a real browser: Debian's headless Chromium (installed by
`.ci/install-chromium`, which `make test` runs) opens the pages from disk, as a reader would from
a USB stick, dumps the DOM it built and takes a screenshot. The screenshot's pixels show that the
map is drawn with its class colours and hatching; the browser's log shows no console error.

Screenshots are kept in ``$PHM_ARTIFACTS/screenshots`` (default ``.ci/artifacts/screenshots``)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

from phm.report import svg

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: `make test` installs Debian's package "
    "as root (.ci/install-chromium); elsewhere install chromium to run the browser test",
)
ARTIFACTS = Path(os.environ.get("PHM_ARTIFACTS", Path(__file__).parents[2] / ".ci" / "artifacts"))
# flags for a machine without network (no background connections, no sandbox as root)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(page: Path, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        )


def console_errors(stderr: str) -> list[str]:
    """Lines the page's scripts wrote to the console as errors (uncaught exceptions included)."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)
    ]


def screenshot(page: Path, name: str) -> Path:
    target = ARTIFACTS / "screenshots" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    result = chromium(page, f"--screenshot={target}", "--window-size=1280,1600")
    assert not console_errors(result.stderr), console_errors(result.stderr)
    return target


def png_pixels(path: Path) -> list[tuple[int, int, int]]:
    """RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * step
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (
                    line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 255
        rows.append(bytes(line))
        previous = line
    return [tuple(row[i : i + 3]) for row in rows for i in range(0, stride, step)]


def hex_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


@pytest.fixture(scope="module")
def report(spark, report_warehouse, tmp_path_factory) -> Path:
    from phm.report.build import build_from_warehouse

    out = tmp_path_factory.mktemp("report")
    build_from_warehouse(spark, report_warehouse, out, include_drafts=True)  # test specs are drafts
    return out


def map_fills(page: Path) -> list[str]:
    """The fills of the map areas in the DOM the browser built."""
    return re.findall(
        r'<path[^>]*\bdata-code="[^"]*"[^>]*\bfill="([^"]+)"', chromium(page, "--dump-dom").stdout
    )


def test_the_map_has_coloured_and_hatched_areas_in_a_real_browser(report):
    # every area published: class-coloured areas, painted in the screenshot
    page = report / "indicators" / "t_readmit.html"
    coloured = {f for f in map_fills(page) if f in svg.PALETTE}
    assert coloured, "no area coloured with a class colour"
    pixels = png_pixels(screenshot(page, "map_t_readmit"))
    painted = {hex_rgb(c) for c in coloured}
    assert sum(p in painted for p in pixels) > 100
    # min_count 5 hides Antwerpen: hatched, never given a class colour
    protected = report / "indicators" / "t_readmit_protected.html"
    fills = map_fills(protected)
    assert f"url(#{svg.HATCH_ID})" in fills, "no hatched (suppressed) area on the map"
    screenshot(protected, "map_t_readmit_protected")


def test_the_funnel_plot_has_its_limits_in_a_real_browser(report):
    page = report / "indicators" / "t_readmit.html"
    run = chromium(page, "--dump-dom")
    dom = run.stdout
    assert "funnel" in dom, (page, page.exists(), run.stderr[-3000:])
    for limit in ("limit-inner", "limit-outer"):  # drawn as lines with points
        assert re.search(
            rf'<(polyline|path)[^>]*class="{limit}"[^>]*\bpoints="[^"]*\d'
            rf'|<(polyline|path)[^>]*class="{limit}"[^>]*\bd="M',
            dom,
        ), limit
    screenshot(page, "funnel_t_readmit")


def test_the_index_and_a_geography_page_render_without_console_errors(report):
    screenshot(report / "index.html", "index")
    belgium = next((report / "geo").glob("belgium-*.html"))
    screenshot(belgium, "geo_belgium")
