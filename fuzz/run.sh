#!/usr/bin/env bash
# Fuzzes every frontend of the registry with libFuzzer for a bounded time: `fuzz/run.sh [SECONDS] [TARGET…]`.
# Builds graphcheck-fuzz with -sanitize=fuzzer,address into .build-fuzz, seeds each corpus from the
# committed fixtures and samples (plus a trace graphcheck writes from each sample), gives the JSON targets a
# dictionary of the format's keys taken from docs/, and keeps what the fuzzer finds under .build-fuzz:
# corpus/TARGET (grown corpus), artifacts/TARGET (crash-*, timeout-*, oom-* inputs), TARGET.log.
# Prints one line per target: executions, coverage, corpus size, and crashes found. Exit 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model-spec trace onnx tensorboard torch-file)
work=.build-fuzz

swift build -c release --product graphcheck >/dev/null
swift build -c release --scratch-path "$work" --product graphcheck-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld >/dev/null
fuzzer=$(swift build -c release --scratch-path "$work" --product graphcheck-fuzz --show-bin-path)/graphcheck-fuzz

seed() {
    local target=$1 dir=$work/corpus/$1
    mkdir -p "$dir"
    case $target in
    model-spec)
        cp samples/*.json "$dir"/
        for f in Tests/Fixtures/hostile/*.json; do grep -q '"model"' "$f" && cp "$f" "$dir"/; done ;;
    trace)
        cp Tests/Fixtures/torch/dict_heads_tied.trace.json Tests/Fixtures/torch/list_heads*.trace.json "$dir"/
        for f in Tests/Fixtures/hostile/*.json; do grep -q graphcheck.trace "$f" && cp "$f" "$dir"/; done
        for f in samples/tied_lm.json samples/tied_lm_undeclared.json samples/resnet18_heads_inplace.json; do
            .build/release/graphcheck trace "$f" -o "$dir/$(basename "$f" .json).trace.json"
        done ;;
    onnx)
        cp Tests/Fixtures/torch/onnx/list_heads*.onnx Tests/Fixtures/hostile/*.onnx "$dir"/ ;;
    tensorboard)
        for d in Tests/Fixtures/torch/tensorboard/*/; do cp "$d"events.out.tfevents.* "$dir/$(basename "$d").tfevents"; done
        cp Tests/Fixtures/hostile/events.out.tfevents.* "$dir"/ ;;
    torch-file)
        cp Tests/Fixtures/torch/checkpoints/* "$dir"/ ;;
    esac
}

# libFuzzer dictionary: every key the format's documentation names, quoted, plus JSON punctuation.
dictionary() {
    local source=$1 out=$2
    { printf 'kw_open="{"\nkw_close="}"\nkw_colon=":"\nkw_null="null"\nkw_true="true"\nkw_neg="-1"\nkw_big="9223372036854775807"\n'
      grep -oE "$3" "$source" | tr -d '`"' | sort -u | awk '{ printf "k%d=\"\\\"%s\\\"\"\n", NR, $0 }'
    } >"$out"
}

failed=0
for target in "${targets[@]}"; do
    [ -d "$work/corpus/$target" ] || seed "$target"
    mkdir -p "$work/artifacts/$target"
    options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1
             -artifact_prefix="$work/artifacts/$target/")
    case $target in
    model-spec) dictionary docs/model-spec.md "$work/$target.dict" '`[a-z_]+`'; options+=(-dict="$work/$target.dict" -max_len=16384) ;;
    trace) dictionary docs/trace.schema.json "$work/$target.dict" '"[a-z_]+"'; options+=(-dict="$work/$target.dict" -max_len=65536) ;;
    esac
    "$fuzzer" "$target" "${options[@]}" "$work/corpus/$target" >"$work/$target.log" 2>&1 || true
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$work/$target.log")
    coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$work/$target.log" | tail -1)
    found=$(find "$work/artifacts/$target" -type f | wc -l)
    echo "$target: ${runs:-?} executions in ${seconds} s, ${coverage:-no coverage line}, corpus $(ls "$work/corpus/$target" | wc -l) files, $found crash/timeout/oom input(s)"
    [ "$found" -eq 0 ] || { failed=1; find "$work/artifacts/$target" -type f | sed 's/^/  /'; }
done
exit $failed
