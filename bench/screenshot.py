"""The README's screenshot: `lossdoctor run --html` on a bundled example, photographed in headless
Chromium; also any report at a laptop's or a phone's width, whole, to look at.

    python bench/screenshot.py [--script examples/demo.py] [--out docs/report.png]
    python bench/screenshot.py --html report.html --width 390 --whole --out phone.png

Needs Chromium and its driver (/usr/bin/chromium, /usr/bin/chromedriver) and selenium.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIDTH = 1000
#: The screenshot shows the top of the report (verdict, curves, first cause) up to this height.
MAX_HEIGHT = 1920
#: Below this width the page is laid out as on a phone (headless Chromium keeps a window at least
#: 500 px wide, so a phone's width is set through the device metrics, as the browser test does).
PHONE_BELOW = 500


def make_report(script: Path, html: Path) -> None:
    """Run the example under lossdoctor (its own output is not needed)."""
    shown = script.resolve()
    if shown.is_relative_to(REPO):  # the report shows the path as given: keep it short
        shown = shown.relative_to(REPO)
    command = [sys.executable, "-m", "lossdoctor", "run", "--seed", "0", "--html", str(html),
               str(shown)]
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     f"--window-size={WIDTH},1200"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def _lay_out(driver, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1,
        "mobile": width < PHONE_BELOW})


def photograph(html: Path, png: Path, width: int = WIDTH, max_height: int = MAX_HEIGHT) -> None:
    """The report at `width` CSS pixels, from its top down to `max_height` (or its end)."""
    driver = _driver()
    try:
        _lay_out(driver, width, 1200)
        driver.get(html.resolve().as_uri())  # each <picture> loads the drawing for this width
        height = driver.execute_script("return document.documentElement.scrollHeight")
        _lay_out(driver, width, min(height, max_height))
        driver.save_screenshot(str(png))
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, default=REPO / "examples" / "demo.py")
    parser.add_argument("--html", type=Path, help="photograph this report instead of running "
                        "--script")
    parser.add_argument("--width", type=int, default=WIDTH, help="CSS pixels (390: a phone)")
    parser.add_argument("--whole", action="store_true", help="the whole page, not its top")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "report.png")
    options = parser.parse_args()
    max_height = 10 ** 6 if options.whole else MAX_HEIGHT
    if options.html:
        photograph(options.html, options.out, options.width, max_height)
    else:
        with tempfile.TemporaryDirectory() as folder:
            html = Path(folder) / "report.html"
            make_report(options.script, html)
            photograph(html, options.out, options.width, max_height)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
