"""``tensorboard --logdir runs`` shows tatamu's runs (issue 24): TensorBoard's own server on
127.0.0.1 reads two tatamu runs, and its page, opened in the test browser (Debian's chromium +
chromium-driver via Selenium), lists them with their scalars and filter images. The screenshot
is docs/tensorboard.png (copied there when TATAMU_UPDATE_DOCS=1).

Slow (two small runs and TensorBoard's start: about a minute): ``pytest -m slow``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cli_runner import run_cli

pytestmark = pytest.mark.slow
pytest.importorskip("tensorboard", reason="needs tensorboard (in tatamu's test extra)")
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
DOCS = Path(__file__).resolve().parents[1] / "docs"
RUNS = ("simple-mnist-seed0", "simple-mnist-seed1")


@pytest.fixture(scope="module")
def tensorboard_url(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("runs")
    for seed, name in enumerate(RUNS):
        status, _, err = run_cli("train", "--limit", "3000", "--test-limit", "500", "--epochs",
                                 "4", "--validation", "500", "--test-every-epoch", "--log-every",
                                 "5", "--seed", str(seed), "--quiet", "--out", logdir / name)
        assert status == 0, err
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host",
         "127.0.0.1", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        url, deadline = None, time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = found.group(1) if found else None
            if not line and proc.poll() is not None:
                pytest.fail("tensorboard stopped before serving")
        assert url, "tensorboard did not say where it serves"
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_tensorboard_reads_tatamus_runs(tensorboard_url):
    with urllib.request.urlopen(tensorboard_url + "data/runs", timeout=30) as answer:
        assert sorted(json.loads(answer.read())) == list(RUNS)
    with urllib.request.urlopen(tensorboard_url + "data/plugin/scalars/tags", timeout=30) as a:
        tags = json.loads(a.read())
    for name in RUNS:
        assert {"epoch/val_accuracy", "epoch/test_accuracy", "batch/loss"} <= set(tags[name])


@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                    reason="needs Debian's chromium and chromium-driver")
def test_tensorboard_shows_them_in_a_browser(tensorboard_url, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        driver.get(tensorboard_url + "?tagFilter=epoch%2F(val_accuracy%7Ctest_accuracy%7Closs)"
                   "%7Cfilters#timeseries")
        WebDriverWait(driver, 90).until(
            lambda d: "epoch/val_accuracy" in d.page_source and all(
                name in d.page_source for name in RUNS))
        time.sleep(5)  # the charts draw after the tags list
        shot = tmp_path / "tensorboard.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 20_000
        if os.environ.get("TATAMU_UPDATE_DOCS"):
            shutil.copy(shot, DOCS / "tensorboard.png")
    finally:
        driver.quit()
