# The two commands of the README: `make demo` and `make test`. Everything else is what they call.
SWIFT ?= swift
RELEASE := .build/release/graphcheck
SAMPLE := samples/densenet121_multihead.json
OUT := out

.PHONY: setup build install demo test pytest browser-test bench bench-compare fuzz clean docs-picture

setup:
	@./scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product graphcheck

# Puts the release binary on PATH: $(PREFIX)/bin/graphcheck (default ~/.local/bin, which Debian's login
# shells put on PATH when it exists). The Python package looks there too.
PREFIX ?= $(HOME)/.local
install: build
	install -d "$(PREFIX)/bin"
	install -m 755 $(RELEASE) "$(PREFIX)/bin/graphcheck"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "install: $(PREFIX)/bin is not on PATH; add it: export PATH=\"$(PREFIX)/bin:\$$PATH\"";; esac
	@echo "install: wrote $(PREFIX)/bin/graphcheck"

# Runs graphcheck on the seed sample (exit 1 = "not independent" is the expected answer for it) and on
# the fixed sample, and draws both.
demo: build
	@mkdir -p $(OUT)
	@status=0; $(RELEASE) $(SAMPLE) || status=$$?; [ $$status -eq 1 ] || { echo "demo: expected exit 1 for the shared sample, got $$status"; exit 1; }
	$(RELEASE) samples/densenet121_multihead_fixed.json
	$(RELEASE) render $(SAMPLE) -o $(OUT)/densenet121_multihead.svg
	$(RELEASE) render $(SAMPLE) -o $(OUT)/densenet121_multihead.html
	$(RELEASE) render samples/densenet121_multihead_fixed.json -o $(OUT)/densenet121_multihead_fixed.svg
	$(RELEASE) trace $(SAMPLE) -o $(OUT)/densenet121_multihead.trace.json
	@echo "demo: wrote $(OUT)/densenet121_multihead.svg and the interactive $(OUT)/densenet121_multihead.html (open them in a browser), $(OUT)/densenet121_multihead_fixed.svg and the trace"

# The README's picture: regenerate after changing the renderer, look at it, commit it.
docs-picture: build
	$(RELEASE) render $(SAMPLE) -o docs/densenet121_multihead.svg
	$(RELEASE) render samples/densenet121_multihead_fixed.json -o docs/densenet121_multihead_fixed.svg

# Swift tests first (they need no torch), then the PyTorch exporter's tests against real torch, then the
# HTML view and the pictures in headless Chromium (screenshots in out/browser/).
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test
	$(MAKE) pytest
	$(MAKE) browser-test

pytest:
	@venv=$$(./scripts/python-venv.sh) && GRAPHCHECK=$(CURDIR)/.build/debug/graphcheck "$$venv/bin/python" -m pytest -q -n 2 integrations/pytorch/tests

browser-test:
	@./scripts/setup.sh browser
	@venv=$$(./scripts/python-venv.sh) && GRAPHCHECK=$(CURDIR)/.build/debug/graphcheck "$$venv/bin/python" -m pytest -q integrations/browser

bench: build
	./bench/check-speed.sh
	./bench/render-speed.sh
	./bench/onnx-speed.sh
	./bench/export-speed.sh
	./bench/scale.sh 10000 100000 1000000
	./bench/html-view.sh

# graphcheck next to TensorBoard's add_graph, torchviz, torchview and onnx.load on the same models, in one run;
# writes docs/benchmarks.md (about 35 minutes on 2 cores: torchviz and torchview are capped at CAP seconds).
bench-compare: build
	./bench/compare.sh

# libFuzzer over each reader, FUZZ_SECONDS each (default 10 minutes); findings land in .build-fuzz/artifacts.
FUZZ_SECONDS ?= 600
fuzz: setup
	./fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf .build .build-fuzz $(OUT)
