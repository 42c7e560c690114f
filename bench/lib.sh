# Shared by the bench scripts: `median_ms COMMAND…` runs COMMAND $runs times (its output and exit status
# ignored) and prints the median wall time in milliseconds, one decimal.
median_ms() {
    local times=()
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}

# Builds the release binary when it is missing; sets $bin.
bin=.build/release/graphcheck
[ -x "$bin" ] || swift build -c release --product graphcheck >/dev/null
