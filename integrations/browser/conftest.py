"""Headless Chromium (Debian's chromium + chromium-driver) driven by selenium, for the HTML view and the
SVG pictures: what a user sees, checked where they see it. Screenshots land in out/browser/."""
import json
import os
import shutil
import subprocess
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ARTIFACTS = os.environ.get("GRAPHCHECK_ARTIFACTS") or os.path.join(REPO, "out", "browser")


@pytest.fixture(scope="session")
def graphcheck():
    path = os.environ.get("GRAPHCHECK") or os.path.join(REPO, ".build", "debug", "graphcheck")
    if not os.path.exists(path):
        pytest.fail(f"graphcheck executable not found at {path}: build it (swift build) or set GRAPHCHECK")

    def run(*args):
        result = subprocess.run([path, *args], capture_output=True, text=True, timeout=300)
        assert result.returncode in (0, 1, 3), result.stderr
        return result

    return run


@pytest.fixture(scope="session")
def artifacts():
    os.makedirs(ARTIFACTS, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not os.path.exists(driver_path):
        pytest.fail("chromedriver not found: install Debian's chromium and chromium-driver (scripts/setup.sh browser)")
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000", "--disable-dev-shm-usage"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


class Page:
    """An HTML view loaded in the browser, with the model data it embeds."""

    def __init__(self, driver, path):
        self.driver = driver
        started = time.perf_counter()
        driver.get("file://" + path)
        deadline = time.time() + 60
        while driver.execute_script("return document.body && document.body.dataset.ready") != "1":
            assert time.time() < deadline, "the view did not finish its first render"
            time.sleep(0.02)
        self.load_seconds = time.perf_counter() - started
        self.data = json.loads(driver.execute_script("return document.getElementById('graph-data').textContent"))

    def keys(self, selector="[data-key]"):
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.dataset.key)", selector)

    def centre(self, key):
        return self.driver.execute_script(
            """const e = document.querySelector('[data-key="' + arguments[0] + '"]');
               if (!e) return null; const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2];""", key)

    def click_latency_ms(self, key):
        """Clicks the element drawn for `key` and returns the milliseconds until the next frame."""
        return self.driver.execute_async_script(
            """const done = arguments[arguments.length - 1];
               const e = document.querySelector('[data-key="' + arguments[0] + '"] rect');
               const t = performance.now();
               e.dispatchEvent(new MouseEvent('click', {bubbles: true}));
               requestAnimationFrame(() => setTimeout(() => done(performance.now() - t), 0));""", key)

    def severe_console_messages(self):
        return [m for m in self.driver.get_log("browser") if m["level"] == "SEVERE"]


@pytest.fixture
def open_page(browser):
    return lambda path: Page(browser, path)
