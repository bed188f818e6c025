#!/usr/bin/env bash
# Soak: the fault-injection scenario of t/fault_injection.t, round after
# round (about 100 s each: 20 publishers, 200 RTMP players and HLS pollers,
# three kill -9 of workers, the store's disk filled, the HLS directory
# unwritable, attacks and bad clients, 20 reloads) for DURATION, then the
# same checks and figures: load held, faults injected, streams and
# segments lost, memory after every reload against the baseline.
#
#   bench/soak.sh [DURATION]     DURATION: seconds, or 2m, 30m (default), 1h
#
# Needs the modules built (./build.sh); as root the store sits on a tmpfs
# that the scenario fills.  Benchmarks are not tests: this prints figures
# (and says PASS or FAIL: every check of the scenario, every round).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}

duration=${1:-30m}
case $duration in
    *h) seconds=$((${duration%h} * 3600)) ;;
    *m) seconds=$((${duration%m} * 60)) ;;
    *s) seconds=${duration%s} ;;
    *) seconds=$duration ;;
esac

if [ ! -f "$MODULES/ngx_ams_core_module.so" ]; then
    echo "no modules in $MODULES: run ./build.sh first" >&2
    exit 1
fi

mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || true
log="$OUT/soak-$(date -u +%Y%m%dT%H%M%S).log"

echo "# nginx-ams soak: t/fault_injection.t for ${seconds}s," \
    "$(nproc) cores, $(date -u +%F)"
rc=0
AMS_MODULES=$MODULES AMS_SOAK_SECONDS=$seconds \
    prove -v -I"$ROOT/t/lib" "$ROOT/t/fault_injection.t" >"$log" 2>&1 || rc=$?

pattern='^# (figures|baseline|round [0-9]+ took|round [0-9]+: publishers)'
grep -E "$pattern" "$log" \
    | sed 's/^# //' || true
echo
echo "checks failed:"
grep -E '^not ok' "$log" | sed 's/^/  /' || echo "  none"
echo "result: $([ $rc = 0 ] && echo PASS || echo FAIL) (full log: $log)"
exit $rc
