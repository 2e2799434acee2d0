"""The HTML report in a real browser (headless Chromium through selenium): no console errors,
every figure present and visible, and a page that is not blank. Skipped, with the reason, when
Chromium, its driver or selenium is missing (`.ci/run` installs them)."""

import io
import os
import re
import shutil

import pytest

from lossdoctor.report import html
from lossdoctor.report.figures import NARROW_WIDTH, WIDTH
from test_report_render import HOSTILE, sample_document

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: A rendered page or figure whose pixels vary less than this (on a 0-1 scale) is blank.
MIN_PIXEL_VARIANCE = 1e-4


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install "
                                    "-e '.[test]')")
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            pytest.skip(f"needs {path} (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1000,1400"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.fixture(scope="module")
def browser():
    driver = _browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def opened(browser, tmp_path_factory):
    """The report of a small recorded run, opened in the browser; returns its HTML."""
    doc = sample_document()
    # frozen_params_transformer_head_only: long check names and reasons pushed the checks table
    # 9 px past a phone's edge
    doc["checks"].append({"name": "saturated_activation", "status": "skipped", "causes": [],
                          "reason": "your model has Embedding, LayerNorm, MultiheadAttention, "
                                    "OrderTransformer layers"})
    page = html.render(doc)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.as_uri())
    browser.get_log("browser")  # nothing before the page is of interest
    browser.refresh()
    return page


def _variance(png: bytes) -> float:
    from matplotlib import image

    return float(image.imread(io.BytesIO(png), format="png")[..., :3].var())


def test_no_console_errors(browser, opened):
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


def test_every_figure_is_present_and_visible(browser, opened):
    expected = len(re.findall(r'data-figure="', opened))
    sizes = browser.execute_script("""
        return [...document.querySelectorAll('figure.plot img')].map(img => {
            img.scrollIntoView();
            const box = img.getBoundingClientRect();
            return [img.complete, img.naturalWidth, box.width, box.height];
        });""")
    assert len(sizes) == expected == 7
    for complete, natural_width, width, height in sizes:
        assert complete and natural_width > 0 and width > 100 and height > 50


def test_each_figure_draws_something(browser, opened):
    from selenium.webdriver.common.by import By

    elements = browser.find_elements(By.CSS_SELECTOR, "figure.plot img")
    assert len(elements) == len(re.findall(r'data-figure="', opened)) > 0
    for element in elements:
        browser.execute_script("arguments[0].scrollIntoView();", element)
        assert _variance(element.screenshot_as_png) > MIN_PIXEL_VARIANCE


def test_the_page_is_not_blank(browser, opened):
    browser.execute_script("window.scrollTo(0, 0);")
    assert _variance(browser.get_screenshot_as_png()) > MIN_PIXEL_VARIANCE


def test_user_text_shows_as_text_and_never_runs(browser, opened):
    from selenium.webdriver.common.by import By

    assert browser.execute_script("return document.scripts.length") == 0
    body = browser.find_element(By.TAG_NAME, "body").text
    assert HOSTILE in body and "runs/<b>bold</b>_train.py" in body


#: The widths the report is read at: a laptop's browser window and a phone's.
WIDTHS = {"desktop": 1280, "phone": 390}
#: A desktop window's vertical scroll bar takes this much of its width, at most.
SCROLL_BAR_PIXELS = 20


@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_nothing_overflows_or_overlaps_at_desktop_and_phone_widths(browser, opened, device,
                                                                   tmp_path_factory):
    # a window is never narrower than 500 px in headless Chromium: set_window_size(390) laid the
    # page out 500 px wide and photographed 390 of them; the device metrics make it a phone's
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": WIDTHS[device], "height": 900, "deviceScaleFactor": 1,
        "mobile": device == "phone"})
    browser.refresh()  # each <picture> loads the drawing for this width before it is measured
    try:
        layout = browser.execute_script("""
            document.querySelectorAll('details').forEach(d => { d.open = true; });
            const width = document.documentElement.clientWidth;
            const boxes = [...document.querySelectorAll('main > section, section *')]
                .filter(e => e.getClientRects().length)
                .map(e => [e.tagName, e.className, e.getBoundingClientRect().left,
                           e.getBoundingClientRect().right]);
            const lines = cell => {
                const range = document.createRange();
                range.selectNodeContents(cell);
                return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
            };
            const cells = [...document.querySelectorAll('#checks tr')].filter(r => r.cells[0]
                    .tagName === 'TD')
                .map(r => [r.cells[0].textContent, lines(r.cells[0]), lines(r.cells[1])]);
            return {width, scroll: document.documentElement.scrollWidth, boxes, cells,
                    figures: [...document.querySelectorAll('figure.plot')].map(
                        f => [getComputedStyle(f).overflowX !== 'visible'
                                  && f.scrollWidth > f.clientWidth,
                              f.querySelector('img').getBoundingClientRect().left,
                              f.querySelector('img').getBoundingClientRect().right,
                              f.querySelector('img').naturalWidth])};""")
        shots = tmp_path_factory.mktemp("screens")
        browser.save_screenshot(str(shots / f"{device}.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        browser.refresh()
    assert WIDTHS[device] - SCROLL_BAR_PIXELS <= layout["width"] <= WIDTHS[device]
    assert layout["scroll"] <= layout["width"], "the page scrolls sideways"
    wide = [box for box in layout["boxes"] if box[3] > layout["width"] + 1 or box[2] < -1]
    assert not wide, wide
    # the checks table on a phone: "ra / n", "class_im / balance" broke where the column ended;
    # a status is one line, a check's name breaks after its underscores only
    assert layout["cells"]
    for name, name_lines, status_lines in layout["cells"]:
        assert status_lines == 1 and name_lines <= name.count("_") + 1, (name, name_lines)
        # at 1280 px there is room for a name whole: "exploding_ / gradients" beside a wide
        # empty reason column read as two names
        assert device == "phone" or name_lines == 1, (name, name_lines)
    # a figure shows whole: scrolled inside its own box on a phone, it hid the right half of
    # a before/after plot, where the fix took effect (frozen_params_transformer_head_only); the
    # figures are SVG, so zooming in on a phone reads their labels sharp
    for hidden, left, right, drawn_width in layout["figures"]:
        assert not hidden and left >= -1 and right <= layout["width"] + 1
        # a phone shows the narrow drawing, its 9 pt labels at about 12 px (the wide one shrunk
        # them to about 6 px); CSS draws 96 px an inch
        inches = NARROW_WIDTH if device == "phone" else WIDTH
        assert abs(drawn_width - inches * 96) <= 2
