"""The HTML view in a real browser: modules open in place on a click without reordering the rest, findings
highlight what they involve, hover says what an element is, search finds it, hostile names stay text."""
import json
import os

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import REPO

SEED = os.path.join(REPO, "samples", "densenet121_multihead.json")


@pytest.fixture(scope="module")
def seed_html(graphcheck, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("html") / "seed.html")
    graphcheck("render", SEED, "-o", path)
    return path


def level_keys(page, level):
    """The keys of the ops and modules a level holds."""
    keys = []
    for kind, ref, *_ in page.data["levels"][level]["items"]:
        if kind == 0:
            keys.append(f"o:{ref}")
        elif kind == 1:
            keys.append(f"l:{ref}")
    return keys


def test_a_module_opens_in_place_and_the_rest_keeps_its_order(open_page, seed_html, artifacts):
    page = open_page(seed_html)
    assert page.severe_console_messages() == []
    closed = page.keys(".node.module")
    assert closed, "the seed opens at depth 2 with closed modules"
    target = next(k for k in closed if page.data["levels"][int(k[2:])]["path"] == "branch1.denseblock4")
    others = [k for k in page.keys(".node") if k != target]
    before = {k: page.centre(k) for k in others}

    # A real click, where the user would click.
    page.driver.find_element(By.CSS_SELECTOR, f'.node.module[data-key="{target}"] rect').click()
    drawn = set(page.keys())
    children = level_keys(page, int(target[2:]))
    assert children and all(k in drawn for k in children), "every op and module inside is drawn"
    assert page.driver.find_elements(By.CSS_SELECTOR, f'.cluster[data-key="{target}"]'), "drawn open, as a cluster"

    # What did not open moves apart but never changes order, on either axis.
    after = {k: page.centre(k) for k in others}
    for axis in (0, 1):
        for a in others:
            for b in others:
                if before[a][axis] < before[b][axis] - 1:
                    assert after[a][axis] < after[b][axis], f"{a} and {b} swapped on axis {axis}"
    page.driver.save_screenshot(os.path.join(artifacts, "seed-opened.png"))

    # Its title closes it again.
    page.driver.find_element(By.CSS_SELECTOR, f'.cluster[data-key="{target}"] rect.headhit').click()
    assert page.driver.find_elements(By.CSS_SELECTOR, f'.node.module[data-key="{target}"]')
    assert not set(children) & set(page.keys())


def test_click_latency_is_recorded(open_page, seed_html, artifacts):
    """Not asserted (tests do not time): written next to the screenshots for the benchmark table."""
    page = open_page(seed_html)
    latencies = []
    for key in page.keys(".node.module")[:10]:
        latencies.append(page.click_latency_ms(key))
    assert len(latencies) >= 5
    with open(os.path.join(artifacts, "seed-clicks.json"), "w") as f:
        json.dump({"load_seconds": page.load_seconds, "click_ms": latencies}, f, indent=1)


def test_a_finding_highlights_its_nodes_and_opens_only_what_it_involves(open_page, seed_html, artifacts):
    page = open_page(seed_html)
    findings = page.driver.find_elements(By.CSS_SELECTOR, ".finding")
    assert len(findings) == len(page.data["findings"]) > 0
    findings[0].click()
    highlighted = set(page.keys(".hl"))
    involved = page.data["findings"][0]["ops"]
    assert highlighted, "the finding's nodes are marked"

    def visible(op):
        chain = page.data["ops"][op]["chain"]
        opened = set(page.driver.execute_script(
            "return Array.from(document.querySelectorAll('.cluster')).map(e => e.dataset.key)"))
        for level in chain[1:]:
            if f"l:{level}" not in opened:
                return f"l:{level}"
        return f"o:{op}"

    assert {visible(o) for o in involved} <= highlighted | {None}
    page.driver.find_element(By.CSS_SELECTOR, ".finding.selected button").click()
    drawn = set(page.keys())
    assert all(f"o:{o}" in drawn for o in involved), "every op the finding involves is drawn itself"
    assert {f"o:{o}" for o in involved} <= set(page.keys(".hl"))
    page.driver.save_screenshot(os.path.join(artifacts, "seed-finding.png"))


def test_hover_tells_what_an_element_is(open_page, seed_html):
    page = open_page(seed_html)
    key = page.keys(".node.module")[0]
    element = page.driver.find_element(By.CSS_SELECTOR, f'.node.module[data-key="{key}"] rect')
    ActionChains(page.driver).move_to_element(element).perform()
    tip = page.driver.find_element(By.ID, "tip")
    assert tip.is_displayed()
    path = page.data["levels"][int(key[2:])]["path"]
    assert f"module: {path}" in tip.text

    op = page.keys(".node.op")[0]
    ActionChains(page.driver).move_to_element(page.driver.find_element(By.CSS_SELECTOR, f'[data-key="{op}"] rect')).perform()
    text = page.driver.find_element(By.ID, "tip").text
    assert "op: " in text and "output: " in text


def test_search_reveals_a_module(open_page, seed_html):
    page = open_page(seed_html)
    box = page.driver.find_element(By.ID, "search")
    ActionChains(page.driver).send_keys("/").perform()
    assert page.driver.switch_to.active_element == box
    box.send_keys("branch3.denseblock4.denselayer2", Keys.ENTER)
    results = page.driver.find_elements(By.CSS_SELECTOR, "#results div")
    assert results and "branch3.denseblock4.denselayer2" in results[0].text
    results[0].click()
    level = next(i for i, l in enumerate(page.data["levels"]) if l["path"] == "branch3.denseblock4.denselayer2")
    assert f"l:{level}" in page.keys(), "its enclosing modules were opened"
    assert "branch3.denseblock4.denselayer2" in page.driver.find_element(By.ID, "details").text


def test_keys_zoom_and_fit(open_page, seed_html):
    page = open_page(seed_html)
    transform = lambda: page.driver.find_element(By.ID, "viewport").get_attribute("transform")
    start = transform()
    ActionChains(page.driver).send_keys("+").perform()
    assert transform() != start
    ActionChains(page.driver).send_keys("f").perform()
    assert transform() == start


def test_hostile_names_run_no_script(open_page, graphcheck, tmp_path, artifacts):
    names = ['<img src=x onerror="window.__pwned=1">', '</script><script>window.__pwned=2</script>',
             '"><svg onload="window.__pwned=3">', "javascript:window.__pwned=4", "a&amp;b"]
    values = [{"id": "v0", "shape": [1]}] + [{"id": f"v{i + 1}", "shape": [1]} for i in range(len(names))]
    nodes = [{"id": f"n{i}", "op": name, "module": f"m{i}.{name}", "module_type": name, "inputs": [f"v{i}"],
              "outputs": [f"v{i + 1}"]} for i, name in enumerate(names)]
    trace = {"format": "graphcheck.trace", "version": 1, "model": names[1], "inputs": ["v0"],
             "outputs": [f"v{len(names)}"], "values": values, "nodes": nodes}
    (tmp_path / "hostile.json").write_text(json.dumps(trace))
    html = str(tmp_path / "hostile.html")
    graphcheck("render", str(tmp_path / "hostile.json"), "-o", html, "--depth", "full")
    page = open_page(html)
    assert page.driver.execute_script("return window.__pwned") is None
    with pytest.raises(NoAlertPresentException):
        page.driver.switch_to.alert.text
    texts = page.driver.execute_script("return Array.from(document.querySelectorAll('svg text')).map(t => t.textContent)")
    for name in names:
        assert name in texts, f"{name!r} is shown as text"
    assert page.driver.find_element(By.ID, "title").text.startswith(names[1])
    page.driver.save_screenshot(os.path.join(artifacts, "hostile.png"))
