"""The README's screenshot: `lossdoctor run --html` on a bundled example, photographed in headless
Chromium.

    python bench/screenshot.py [--script examples/demo.py] [--out docs/report.png]

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


def make_report(script: Path, html: Path) -> None:
    """Run the example under lossdoctor (its own output is not needed)."""
    shown = script.resolve()
    if shown.is_relative_to(REPO):  # the report shows the path as given: keep it short
        shown = shown.relative_to(REPO)
    command = [sys.executable, "-m", "lossdoctor", "run", "--seed", "0", "--html", str(html),
               str(shown)]
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def photograph(html: Path, png: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     f"--window-size={WIDTH},1200"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        driver.get(html.resolve().as_uri())
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(WIDTH, min(height, MAX_HEIGHT))
        driver.save_screenshot(str(png))
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", type=Path, default=REPO / "examples" / "demo.py")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "report.png")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder) / "report.html"
        make_report(options.script, html)
        photograph(html, options.out)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
