"""The drawing page in a real headless browser: Debian's chromium + chromium-driver via Selenium.

Selenium is given /usr/bin/chromedriver and /usr/bin/chromium, so it downloads nothing; the
page talks only to the server on 127.0.0.1. A stroke is drawn with pointer actions (a mouse,
then a pen), the prediction awaited, a conv1 pixel hovered, and a screenshot saved (copied to
docs/draw-page.png, the picture in docs/guide/digits-basics.md, when TATAMU_UPDATE_DOCS=1). A
photographed digit is chosen in the file input as a user would (Selenium types the file's
path into it). Skipped, saying why, where Chromium or Selenium is missing:
``apt-get install chromium chromium-driver``.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from photos import CONDITIONS, photograph

from tatamu.digits.draw import DrawApp, make_server, serve

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
DOCS = Path(__file__).resolve().parents[2] / "docs"

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium "
                "chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install "
                                "'selenium>=4.11,<5', in tatamu's test extra)")
from selenium.webdriver.common.actions import interaction  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.pointer_input import PointerInput  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def page_url(digit_checkpoint):
    srv = make_server(DrawApp(digit_checkpoint), "127.0.0.1", 0)
    thread = threading.Thread(target=serve, args=(srv,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1280,1100",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def stroke(driver, element, points, kind=interaction.POINTER_MOUSE):
    """Press at the first point, move through the others, lift: offsets from the centre."""
    actions = ActionBuilder(driver, mouse=PointerInput(kind, kind), duration=20)
    pointer = actions.pointer_action
    pointer.move_to(element, *points[0])
    pointer.pointer_down()
    for x, y in points[1:]:
        pointer.move_to(element, x, y)
    pointer.pointer_up()
    actions.perform()


def answered(driver, count: int = 1) -> str:
    """Wait for ``count`` answers in all and none in flight or queued; the class shown."""
    def settled(d):
        body = d.find_element(By.TAG_NAME, "body")
        return (int(body.get_attribute("data-predictions")) >= count
                and body.get_attribute("data-busy") == "0")

    WebDriverWait(driver, 60).until(settled)
    return driver.find_element(By.ID, "prediction").text


def test_draw_a_seven_and_see_inside(browser, page_url, tmp_path):
    browser.get(page_url)
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    pad = browser.find_element(By.ID, "pad")
    # a "7": the bar left to right, then down to the lower left (offsets from the centre)
    seven = [(-60, -80), (-20, -82), (20, -82), (60, -80), (45, -40), (30, 0), (15, 40),
             (0, 85)]
    stroke(browser, pad, seven)
    assert answered(browser) == "7"  # the answer to the whole stroke, not to a part of it
    assert browser.find_element(By.ID, "error").text == ""
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
    assert len(bars) == 10 and "best" in bars[7].get_attribute("class")
    ink = browser.execute_script(
        "const c = document.getElementById('input');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data)"
        ".filter((v, i) => i % 4 === 0 && v > 128).length;")
    assert c_shape(browser) == (28, 28) and ink > 20  # the 28x28 input shows the digit
    maps = browser.find_elements(By.CSS_SELECTOR, "#layer-conv1 canvas")
    assert len(maps) == 30 and browser.find_elements(By.CSS_SELECTOR, "#layer-pool1 canvas")

    # hover one conv1 pixel: its multiply-add, as `tatamu explain` prints it
    actions = ActionBuilder(browser)
    actions.pointer_action.move_to(maps[0], 2, 2)
    actions.perform()
    WebDriverWait(browser, 30).until(
        lambda d: "conv1[0] out[" in d.find_element(By.ID, "explain").text)
    explain = browser.find_element(By.ID, "explain").text
    assert explain.count("*") == 25 and " = " in explain

    shot = tmp_path / "draw-page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert browser.find_element(By.ID, "window").is_displayed()  # the window on the input
    if os.environ.get("TATAMU_UPDATE_DOCS"):
        shutil.copy(shot, DOCS / "draw-page.png")
        canvas = browser.execute_script("return document.getElementById('pad').toDataURL();")
        (DOCS / "draw-seven.png").write_bytes(base64.b64decode(canvas.split(",", 1)[1]))

    # a switch per step: turning "crop to the ink" off changes what the model sees
    count = int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-predictions"))
    browser.find_element(By.CSS_SELECTOR, "#switches input[value='crop_to_ink']").click()
    answered(browser, count + 1)
    notes = browser.find_element(By.ID, "notes").text
    assert "cropped" not in notes


def test_a_pen_draws_too_and_clear_empties(browser, page_url):
    browser.get(page_url)
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    pad = browser.find_element(By.ID, "pad")
    stroke(browser, pad, [(0, -90), (0, -30), (0, 30), (2, 90)], kind=interaction.POINTER_PEN)
    assert answered(browser) == "1"
    browser.find_element(By.ID, "clear").click()
    assert browser.find_element(By.ID, "prediction").text == "?"


def c_shape(driver) -> tuple[int, int]:
    return tuple(driver.execute_script(
        "const c = document.getElementById('input'); return [c.height, c.width];"))


# -- the page in Japanese ------------------------------------------------------------------------
def japanese_browser(tmp_path_factory):
    """Chromium whose user speaks Japanese (--lang=ja, Accept-Language ja)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1280,1100", "--lang=ja",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-ja')}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "ja,en"})
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    return webdriver.Chrome(options=options, service=service)


@pytest.fixture(scope="module")
def served(digit_checkpoint):
    """Start a page server for a DrawApp made with the given keyword arguments."""
    started = []

    def start(**kwargs) -> str:
        srv = make_server(DrawApp(digit_checkpoint, **kwargs), "127.0.0.1", 0)
        thread = threading.Thread(target=serve, args=(srv,), daemon=True)
        thread.start()
        started.append((srv, thread))
        return f"http://127.0.0.1:{srv.server_address[1]}/"

    yield start
    for srv, thread in started:
        srv.shutdown()
        thread.join(5)


def japanese_without_the_font(driver) -> list[str]:
    """The texts with Japanese characters whose element does not ask for tatamu's font (a form
    control does not inherit the page's font unless told to)."""
    return driver.execute_script(
        "const wide = /[\\u3000-\\u30ff\\u4e00-\\u9fff\\uff00-\\uffef]/;"
        "return [...document.querySelectorAll('body *')].filter((el) =>"
        "  [...el.childNodes].some((n) => n.nodeType === 3 && wide.test(n.textContent)) &&"
        "  !getComputedStyle(el).fontFamily.includes('tatamu-ja')).map((el) => el.outerHTML);")


def font_status(driver) -> list[str]:
    """The states of the page's tatamu-ja font faces, once the fonts in use have loaded."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "document.fonts.ready.then(() => done([...document.fonts]"
        "  .filter((f) => f.family.replace(/\"/g, '') === 'tatamu-ja').map((f) => f.status)));")


def test_a_japanese_browser_gets_the_page_in_japanese_with_its_font(tmp_path_factory, served,
                                                                      tmp_path):
    driver = japanese_browser(tmp_path_factory)
    try:
        driver.get(served())  # no --lang: the page follows the browser
        WebDriverWait(driver, 30).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
        assert driver.find_element(By.ID, "clear").text == "消去"
        assert driver.find_element(By.CSS_SELECTOR, "[data-text=steps]").text == "前処理のステップ"
        assert driver.find_element(By.CSS_SELECTOR, "[data-text=maps]").text == "特徴マップ"
        assert "積和演算" in driver.find_element(By.ID, "hover").text
        assert "conv1" in driver.find_element(By.ID, "first-conv").text  # a name stays a name
        switches = driver.find_element(By.ID, "switches").text
        assert "インクの部分を切り出す" in switches and "crop" not in switches

        pad = driver.find_element(By.ID, "pad")
        stroke(driver, pad, [(-60, -80), (-20, -82), (20, -82), (60, -80), (45, -40), (30, 0),
                             (15, 40), (0, 85)])
        assert answered(driver) == "7"  # numbers stay numbers
        notes = driver.find_element(By.ID, "notes").text
        assert "インクの部分を切り出した" in notes and "cropped" not in notes
        maps = driver.find_elements(By.CSS_SELECTOR, "#layer-conv1 canvas")
        actions = ActionBuilder(driver)
        actions.pointer_action.move_to(maps[0], 2, 2)
        actions.perform()
        WebDriverWait(driver, 30).until(
            lambda d: "conv1[0] out[" in d.find_element(By.ID, "explain").text)
        explain = driver.find_element(By.ID, "explain").text
        assert "のウィンドウ ⊛ フィルター 0" in explain and explain.count("*") == 25
        # The Japanese is drawn with tatamu's own font, not whatever the machine has (Debian's
        # Chromium without fonts-noto-cjk drew 積和演算 as empty boxes): the page loaded it.
        assert font_status(driver) == ["loaded"]
        assert japanese_without_the_font(driver) == []
        shot = tmp_path / "draw-page.ja.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("TATAMU_UPDATE_DOCS"):
            shutil.copy(shot, DOCS / "draw-page.ja.png")
    finally:
        driver.quit()


def test_draw_lang_ja_speaks_japanese_to_an_english_browser(browser, served):
    browser.get(served(language="ja"))  # tatamu draw --lang ja
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
    assert browser.find_element(By.CSS_SELECTOR, "[data-text=sees]").text == "モデルが見ているもの"
    pad = browser.find_element(By.ID, "pad")
    stroke(browser, pad, [(0, -90), (0, -30), (0, 30), (2, 90)])
    assert answered(browser) == "1"
    assert "cropped" not in browser.find_element(By.ID, "notes").text


def test_an_english_browser_gets_the_english_page(browser, page_url):
    browser.get(page_url)
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.ID, "clear").text == "Clear"
    assert browser.find_element(By.ID, "hover").text.startswith("Hover over a pixel of conv1")
    # the English line keeps 積和演算, drawn in tatamu's font too
    assert font_status(browser) == ["loaded"]


# -- over time (issue 24): the epoch slider, and a second run beside ------------------------------
@pytest.fixture(scope="module")
def runs_url(epoch_run, other_run):
    srv = make_server(DrawApp(epoch_run, other_run), "127.0.0.1", 0)
    thread = threading.Thread(target=serve, args=(srv,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    thread.join(5)


def shown_probabilities(driver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#bars .pct")]


def test_the_epoch_slider_shows_the_same_drawing_through_each_epoch(browser, runs_url,
                                                                    tmp_path):
    browser.get(runs_url)
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-epochs") == "0,1,2")
    assert browser.find_element(By.ID, "over-time").is_displayed()
    slider = browser.find_element(By.ID, "epoch")
    assert slider.get_attribute("value") == "2"  # the last epoch first
    seven = [(-60, -80), (-20, -82), (20, -82), (60, -80), (45, -40), (30, 0), (15, 40),
             (0, 85)]
    stroke(browser, browser.find_element(By.ID, "pad"), seven)
    answered(browser)
    body = browser.find_element(By.TAG_NAME, "body")
    assert body.get_attribute("data-epoch") == "2"
    last = shown_probabilities(browser)
    filters = browser.find_elements(By.CSS_SELECTOR, "#filters canvas")
    assert len(filters) == 30  # conv1's 30 filters
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#compare-1 .bars .bar"))  # the second run answered the same drawing
    assert "seed1" in browser.find_element(By.ID, "compare-1").text

    # the slider, moved with the keyboard as a person would: Home = epoch 0, the initial weights
    count = int(body.get_attribute("data-predictions"))
    slider.send_keys(Keys.HOME)
    answered(browser, count + 1)
    assert body.get_attribute("data-epoch") == "0"
    assert "initial weights" in browser.find_element(By.ID, "epoch-label").text
    initial = shown_probabilities(browser)
    assert initial != last  # the untrained network reads the same drawing otherwise
    slider.send_keys(Keys.ARROW_RIGHT)
    answered(browser, count + 2)
    assert body.get_attribute("data-epoch") == "1"
    assert "validation" in browser.find_element(By.ID, "epoch-label").text
    assert shown_probabilities(browser) not in (initial, last)

    shot = tmp_path / "draw-epochs.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("TATAMU_UPDATE_DOCS"):
        shutil.copy(shot, DOCS / "draw-epochs.png")


def test_the_epoch_slider_speaks_japanese(browser, epoch_run, other_run):
    """tatamu draw --lang ja RUN OTHER: the slider's words, the runs beside, in Japanese."""
    srv = make_server(DrawApp(epoch_run, other_run, language="ja"), "127.0.0.1", 0)
    thread = threading.Thread(target=serve, args=(srv,), daemon=True)
    thread.start()
    try:
        browser.get(f"http://127.0.0.1:{srv.server_address[1]}/")
        WebDriverWait(browser, 30).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-epochs") == "0,1,2")
        assert browser.find_element(By.CSS_SELECTOR, "[data-text=overTime]").text == "学習の経過"
        label = browser.find_element(By.ID, "epoch-label")
        assert label.text.startswith("エポック 2（全 2）") and "検証データ " in label.text
        slider = browser.find_element(By.ID, "epoch")
        assert slider.get_attribute("aria-label") == "エポック"
        slider.send_keys(Keys.HOME)
        assert "（初期の重み）" in label.text
        other = browser.find_element(By.ID, "compare-1")
        assert "最初のレイヤのフィルター" in other.text
        assert other.find_element(By.TAG_NAME, "input").get_attribute("aria-label").endswith(
            "のエポック")
    finally:
        srv.shutdown()
        thread.join(5)


def test_a_photo_of_a_digit_on_paper(browser, page_url, mnist_test_set, tmp_path):
    """Issue 27: the file input (the camera on a phone) beside the canvas; steps as for a
    drawing, switches included; drawing on the pad afterwards starts a new drawing."""
    x, y = mnist_test_set
    photo = tmp_path / "IMG_0042.jpg"
    light = CONDITIONS["all at once: 0.92 -> 0.52, vignetting, shadow edge"]
    photo.write_bytes(photograph(x[0, 0], light, np.random.default_rng(42)))
    browser.get(page_url)
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    upload = browser.find_element(By.ID, "photo")
    assert upload.get_attribute("accept") == "image/*"
    assert upload.get_attribute("capture") == "environment"
    upload.send_keys(str(photo))
    assert answered(browser) == str(y[0])
    assert browser.find_element(By.ID, "error").text == ""
    notes = browser.find_element(By.ID, "notes").text
    assert "evened out" in notes and "cropped" in notes
    shown = browser.execute_script(  # the photo is on the pad, not a blank canvas
        "const c = document.getElementById('pad');"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
        ".filter((v, i) => i % 4 === 3 && v > 0).length;")
    assert shown > 10_000
    if os.environ.get("TATAMU_UPDATE_DOCS"):
        browser.save_screenshot(str(DOCS / "images" / "draw-page-photo.png"))

    # switched off, the light swamps the strokes: the failure issue 27 reports, on the page
    count = int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-predictions"))
    browser.find_element(By.CSS_SELECTOR, "#switches input[value='even_out_light']").click()
    answered(browser, count + 1)
    assert browser.find_element(By.ID, "error").text.startswith("IMG_0042.jpg has no ink")
    browser.find_element(By.CSS_SELECTOR, "#switches input[value='even_out_light']").click()
    assert answered(browser, count + 2) == str(y[0])
    assert browser.find_element(By.ID, "error").text == ""

    blank = tmp_path / "empty sheet.jpg"
    blank.write_bytes(photograph(None, light, np.random.default_rng(43)))
    upload.send_keys(str(blank))
    answered(browser, count + 3)
    error = browser.find_element(By.ID, "error").text
    assert error.startswith("empty sheet.jpg has no ink: it is blank")

    pad = browser.find_element(By.ID, "pad")  # drawing starts afresh, the photo forgotten
    stroke(browser, pad, [(0, -90), (0, -30), (0, 30), (2, 90)])
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "prediction").text == "1"
        and d.find_element(By.TAG_NAME, "body").get_attribute("data-busy") == "0")
    assert browser.find_element(By.ID, "photo").get_attribute("value") == ""
