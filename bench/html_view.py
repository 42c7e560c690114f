"""The HTML view at scale, in headless Chromium: per model, the page's size, the time `graphcheck render
-o X.html` takes (whole process, median of RUNS), the time until the page has drawn itself, and the
latency of clicks that open modules (click to the next frame, measured in the page), median and max.

Run by bench/html-view.sh, which writes docs/benchmarks-html-view.md. Models: the seed at the automatic
depth and at full depth (samples/densenet121_multihead.json) and, exported with graphcheck_torch (fake tensors, random weights),
DenseNet-201, a 200-layer transformer encoder and Faster R-CNN (MobileNetV3 320, eval mode)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "integrations", "pytorch"))


def export_models(out):
    import torch
    import torchvision
    from graphcheck_torch import export

    seed = os.path.join(REPO, "samples", "densenet121_multihead.json")
    models = {"seed": (seed, "auto"), "seed (full depth)": (seed, "full")}
    path = os.path.join(out, "densenet201.json")
    export(torchvision.models.densenet201(weights=None), (torch.randn(2, 3, 224, 224),), path)
    models["DenseNet-201"] = (path, "auto")
    layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
    path = os.path.join(out, "transformer200.json")
    export(torch.nn.TransformerEncoder(layer, num_layers=200, enable_nested_tensor=False), (torch.randn(2, 16, 64),), path)
    models["transformer, 200 layers"] = (path, "auto")
    path = os.path.join(out, "fasterrcnn.json")
    detector = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None)
    export(detector, ([torch.randn(3, 320, 320)],), path, train=False)
    models["Faster R-CNN (eval)"] = (path, "auto")
    return models


def ops_in(path, binary):
    text = subprocess.run([binary, "trace", path], capture_output=True, text=True).stdout
    return len(json.loads(text)["nodes"])


def write_seconds(binary, source, depth, html, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([binary, "render", source, "--depth", depth, "-o", html], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def browse(driver, html, clicks):
    started = time.perf_counter()
    driver.get("file://" + html)
    while driver.execute_script("return document.body && document.body.dataset.ready") != "1":
        time.sleep(0.01)
    load = time.perf_counter() - started
    def click(selector):
        return driver.execute_async_script(
            """const done = arguments[arguments.length - 1];
               const e = document.querySelector(arguments[0]);
               const t = performance.now();
               e.dispatchEvent(new MouseEvent('click', {bubbles: true}));
               requestAnimationFrame(() => setTimeout(() => done(performance.now() - t), 0));""", selector)

    latencies = []
    # Open closed modules one after another, the outermost first, as a user exploring would. Where
    # everything is open (full depth), close a module by its title and open it again, from the last drawn.
    clusters = driver.execute_script("return Array.from(document.querySelectorAll('.cluster')).map(e => e.dataset.key)")
    while len(latencies) < clicks:
        key = driver.execute_script("const e = document.querySelector('.node.module'); return e && e.dataset.key")
        if key:
            latencies.append(click(f'.node.module[data-key="{key}"] rect'))
        elif clusters:
            key = clusters.pop()
            latencies.append(click(f'.cluster[data-key="{key}"] > rect.headhit'))
            latencies.append(click(f'.node.module[data-key="{key}"] rect'))
        else:
            break
    drawn = driver.execute_script("return document.querySelectorAll('[data-key]').length")
    return load, latencies, drawn


def main():
    binary = sys.argv[1]
    runs = int(os.environ.get("RUNS", "3"))
    clicks = int(os.environ.get("CLICKS", "20"))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(120)
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for name, (source, depth) in export_models(out).items():
            html = os.path.join(out, "view.html")
            seconds = write_seconds(binary, source, depth, html, runs)
            size = os.path.getsize(html)
            load, latencies, drawn = browse(driver, html, clicks)
            rows.append((name, ops_in(source, binary), depth, size, seconds, load, latencies, drawn))
            print(f"{name}: {size / 1e6:.2f} MB, write {seconds:.2f} s, load {load:.2f} s, "
                  f"clicks {len(latencies)} median {statistics.median(latencies):.0f} ms max {max(latencies):.0f} ms", file=sys.stderr)
    driver.quit()
    print("| model | ops | opens at | HTML | write (s) | load (s) | clicks | click median (ms) | click max (ms) | drawn after |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, ops, depth, size, seconds, load, latencies, drawn in rows:
        print(f"| {name} | {ops:,} | {depth} | {size / 1e6:.2f} MB | {seconds:.2f} | {load:.2f} | {len(latencies)} | "
              f"{statistics.median(latencies):.0f} | {max(latencies):.0f} | {drawn:,} |")


if __name__ == "__main__":
    main()
