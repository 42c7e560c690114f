"""The static pictures in a real browser: every label fits inside its box (Graphviz measured the text in the
font the browser draws, Liberation Sans for Helvetica), and the legend sits at the top with the title."""
import glob
import os

import pytest

from conftest import REPO

PICTURES = [
    os.path.join(REPO, "samples", "densenet121_multihead.json"),
    os.path.join(REPO, "samples", "densenet121_multihead_fixed.json"),
    os.path.join(REPO, "samples", "resnet18_heads.json"),
] + sorted(glob.glob(os.path.join(REPO, "Tests", "Fixtures", "torch", "onnx", "*.onnx")))[:2] \
  + sorted(glob.glob(os.path.join(REPO, "Tests", "Fixtures", "torch", "tensorboard", "*", "events.out.tfevents.*")))[:1]

# Each node's text boxes against its shape's box, in the browser's own measurements.
OVERFLOWS = """
const out = [];
for (const g of document.querySelectorAll('g.node')) {
  const shape = g.querySelector('polygon, path, ellipse');
  if (!shape) continue;
  const s = shape.getBBox();
  for (const t of g.querySelectorAll('text')) {
    const b = t.getBBox();
    if (b.x < s.x - 0.5 || b.x + b.width > s.x + s.width + 0.5 || b.y < s.y - 0.5 || b.y + b.height > s.y + s.height + 0.5)
      out.push(t.textContent + ' (' + (b.width).toFixed(1) + ' in ' + (s.width).toFixed(1) + ')');
  }
}
return out;"""


@pytest.mark.parametrize("source", PICTURES, ids=lambda p: os.path.basename(os.path.dirname(p)) if "tfevents" in p else os.path.basename(p))
def test_every_label_fits_its_box(browser, graphcheck, tmp_path, artifacts, source):
    svg = str(tmp_path / "picture.svg")
    graphcheck("render", source, "-o", svg)
    browser.get("file://" + svg)
    assert browser.execute_script("return document.querySelectorAll('g.node').length") > 0
    assert browser.execute_script(OVERFLOWS) == []


def test_the_legend_is_at_the_top_beside_the_title(browser, graphcheck, tmp_path, artifacts):
    svg = str(tmp_path / "seed.svg")
    graphcheck("render", PICTURES[0], "-o", svg)
    browser.get("file://" + svg)
    positions = browser.execute_script("""
        const y = (t) => t.getBBox().y;
        const texts = Array.from(document.querySelectorAll('text'));
        const title = texts.find(t => t.textContent.includes('NOT independent'));
        const legend = texts.filter(t => t.textContent.startsWith('shared: ') || t.textContent === 'cross-branch dependency');
        const nodes = Array.from(document.querySelectorAll('g.node')).map(g => g.getBBox().y);
        return [y(title), legend.map(y), Math.min(...nodes)];""")
    title, legend, first_node = positions
    assert len(legend) == 3, "two shared groups and the red edges"
    assert all(title < y < first_node for y in legend), "between the title and the drawing"
    browser.save_screenshot(os.path.join(artifacts, "seed-svg.png"))


def test_hovering_says_what_an_element_is(browser, graphcheck, tmp_path):
    """Tooltips carry the HTML view's details, not Graphviz's ids."""
    svg = str(tmp_path / "seed.svg")
    graphcheck("render", PICTURES[0], "-o", svg)
    browser.get("file://" + svg)
    tips = browser.execute_script("""
        const XLINK = 'http://www.w3.org/1999/xlink';
        return Array.from(document.querySelectorAll('g.node')).map(g => {
          const a = g.querySelector('a');
          return a ? (a.getAttributeNS(XLINK, 'title') || a.getAttribute('title') || '') : '';
        });""")
    assert tips and all(tips), "every node has a tooltip"
    ops = [t for t in tips if t.startswith("op: ")]
    assert ops and all("module: " in t and "output: " in t for t in ops)
    assert any("reads parameter branch1.norm5.weight = branch2.norm5.weight" in t for t in tips), "every name of a shared tensor"
    assert any(t.startswith("module: trunk.denseblock3 (_DenseBlock)\n169 ops") for t in tips), "a closed module says what it holds"
