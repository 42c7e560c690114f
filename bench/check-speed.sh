#!/usr/bin/env bash
# Times `graphcheck check` on the samples with a release build: the median of RUNS runs each.
# Usage: bench/check-speed.sh [RUNS]   (default 15). Prints one line per input.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
. bench/lib.sh


printf '%-52s %10s\n' "command (median of $runs runs, release build)" "ms"
for sample in samples/densenet121_multihead.json samples/densenet121_multihead_fixed.json; do
    printf '%-52s %10s\n' "check $sample" "$(median_ms "$bin" check "$sample")"
done
tensorboard=Tests/Fixtures/torch/tensorboard/densenet121_multihead/events.out.tfevents.fixture
printf '%-52s %10s\n' "check <TensorBoard event file, $(( $(stat -c %s "$tensorboard") / 1024 )) KiB>" "$(median_ms "$bin" check "$tensorboard")"
printf '%-52s %10s\n' "check <PyTorch exporter trace>" "$(median_ms "$bin" check Tests/Fixtures/torch/densenet121_multihead.trace.json)"
trace=$(mktemp --suffix=.json)
"$bin" trace samples/densenet121_multihead.json -o "$trace"
printf '%-52s %10s\n' "check <trace of densenet121_multihead>" "$(median_ms "$bin" check "$trace")"
printf '%-52s %10s\n' "trace samples/densenet121_multihead.json" "$(median_ms "$bin" trace samples/densenet121_multihead.json -o /dev/null)"
rm -f "$trace"
