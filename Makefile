# The two commands of the README: `make demo` and `make test`. Everything else is what they call.
SWIFT ?= swift
RELEASE := .build/release/graphcheck
SAMPLE := samples/densenet121_multihead.json
OUT := out

.PHONY: setup build demo test bench clean

setup:
	@./scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product graphcheck

# Runs graphcheck on the seed sample (exit 1 = "not independent" is the expected answer for it), then on
# the fixed sample, and writes the trace.
demo: build
	@mkdir -p $(OUT)
	@status=0; $(RELEASE) $(SAMPLE) || status=$$?; [ $$status -eq 1 ] || { echo "demo: expected exit 1 for the shared sample, got $$status"; exit 1; }
	$(RELEASE) samples/densenet121_multihead_fixed.json
	$(RELEASE) trace $(SAMPLE) -o $(OUT)/densenet121_multihead.trace.json
	@echo "demo: wrote $(OUT)/densenet121_multihead.trace.json"

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test

bench: build
	./bench/check-speed.sh

clean:
	rm -rf .build $(OUT)
