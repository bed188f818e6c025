#!/usr/bin/env bash
# REST API and store throughput: nginx-ams beside nginx serving a static
# file of the same bytes (the ceiling: no store, no JSON), same nginx, same
# run, measured with wrk.  The store holds 10,000 broadcast records.
#
#   list        GET /LiveApp/rest/v2/broadcasts/list/0/50 vs the same body
#               as a static file; again with the offset changing on every
#               request, so each one goes to the store (the read cache
#               cannot help; the peer is then the same query in Python)
#   statistics  GET .../broadcasts/{id}/broadcast-statistics vs its body as
#               a static file
#   update      PUT .../broadcasts/{id} (one SQLite transaction each, over
#               500 records) vs Python's sqlite3 doing the same UPDATE in
#               one process (the store without nginx-ams around it); the
#               uncached pages likewise beside Python running their SELECT
#
# BENCH_REST_SECONDS (default 10) per wrk run, BENCH_REPEAT (default 3)
# runs of each (figures are medians), BENCH_RECORDS (default 10000).
# Benchmarks are not tests: they print figures.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/build/bench"
MODULES=${AMS_MODULES:-$ROOT/build/modules}
D=${BENCH_REST_SECONDS:-10}
REPEAT=${BENCH_REPEAT:-3}
RECORDS=${BENCH_RECORDS:-10000}
PORT=15080
P="$OUT/srv-rest"

command -v wrk >/dev/null || { echo "wrk is needed (apt install wrk)"; exit 1; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

rm -rf "$P"
bench_ams_api_conf "$P" "$PORT" "" \
    "bus_zone_size 64m; application LiveApp { }" \
    "location /static/ { root $P; default_type application/json; }"
bench_start "$P"
trap 'bench_stop "$P"' EXIT

BASE="http://127.0.0.1:$PORT"
API="$BASE/LiveApp/rest/v2"

echo "== filling the store with $RECORDS records"
perl "$ROOT/bench/fill_records.pl" "$PORT" "$RECORDS" rec 5

mkdir -p "$P/static"
curl -s "$API/broadcasts/list/0/50" >"$P/static/list.json"
curl -s "$API/broadcasts/rec05000/broadcast-statistics" >"$P/static/stats.json"
echo "list/0/50 body: $(stat -c %s "$P/static/list.json") bytes;" \
     "statistics body: $(stat -c %s "$P/static/stats.json") bytes"

# every request a different page: the read cache cannot answer
cat >"$OUT/pages.lua" <<'LUA'
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", string.format(
        "/LiveApp/rest/v2/broadcasts/list/%d/50", (n * 37) % 9000))
end
LUA

cat >"$OUT/put.lua" <<'LUA'
local n = 0
request = function()
    n = n + 1
    return wrk.format("PUT", string.format(
        "/LiveApp/rest/v2/broadcasts/rec%05d", n % 500 + 1),
        { ["Content-Type"] = "application/json" },
        '{"description":"update ' .. n .. '"}')
end
LUA

rps() {   # wrk's Requests/sec for a URL (and an optional script)
    local url=$1 script=${2:-}
    wrk -t2 -c32 -d"${D}s" ${script:+-s "$script"} "$url" 2>/dev/null \
        | awk '/^Requests\/sec/ {printf "%d", $2}'
}

median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A R
for i in $(seq "$REPEAT"); do
    R[static_list]+="$(rps "$BASE/static/list.json") "
    R[list]+="$(rps "$API/broadcasts/list/0/50") "
    R[pages]+="$(rps "$BASE" "$OUT/pages.lua") "
    R[static_stats]+="$(rps "$BASE/static/stats.json") "
    R[stats]+="$(rps "$API/broadcasts/rec05000/broadcast-statistics") "
    R[put]+="$(rps "$BASE" "$OUT/put.lua") "
done

# the peer for updates: the same statement through Python's sqlite3
cp "$P/data/ams.db" "$OUT/peer.db"
PEER_PUT=$(python3 - "$OUT/peer.db" "$D" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
n, end = 0, time.time() + float(sys.argv[2])
while time.time() < end:
    n += 1
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE docs SET doc = json_patch(doc, ?) WHERE coll = "
               "'broadcast' AND app = 'LiveApp' AND id = ?",
               ('{"description":"update %d"}' % n, "rec%05d" % (n % 500 + 1)))
    db.execute("COMMIT")
print(int(n / float(sys.argv[2])))
PY
)

# and the peer for uncached pages: the same SELECT and concatenation
PEER_PAGES=$(python3 - "$OUT/peer.db" "$D" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
sql = ("SELECT CASE WHEN status = 'broadcasting' AND update_time < ?1 - 20000"
       " THEN json_set(doc, '$.status', 'terminated_unexpectedly') ELSE doc END"
       " FROM docs WHERE coll = 'broadcast' AND app = 'LiveApp'"
       " ORDER BY rowid LIMIT 50 OFFSET ?2")
n, end = 0, time.time() + float(sys.argv[2])
while time.time() < end:
    n += 1
    body = "[" + ",".join(r[0] for r in db.execute(
        sql, (int(time.time() * 1000), (n * 37) % 9000))) + "]"
print(int(n / float(sys.argv[2])))
PY
)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

L=$(echo ${R[list]} | median); SL=$(echo ${R[static_list]} | median)
S=$(echo ${R[stats]} | median); SS=$(echo ${R[static_stats]} | median)
G=$(echo ${R[pages]} | median)
U=$(echo ${R[put]} | median)

echo
echo "== REST with $RECORDS records (requests/s, median of $REPEAT, wrk -t2 -c32 -d${D}s, 2 workers)"
printf "%-34s %10s %12s %7s\n" "" "nginx-ams" "peer" "ratio"
printf "%-34s %10s %12s %7s\n" "broadcasts/list/0/50" "$L" "$SL static" "$(ratio "$L" "$SL")"
printf "%-34s %10s %12s %7s\n" "list/{N}/50, N changing (no cache)" "$G" "$PEER_PAGES py" "$(ratio "$G" "$PEER_PAGES")"
printf "%-34s %10s %12s %7s\n" "broadcast-statistics" "$S" "$SS static" "$(ratio "$S" "$SS")"
printf "%-34s %10s %12s %7s\n" "PUT broadcasts/{id} (store write)" "$U" "$PEER_PUT py" "$(ratio "$U" "$PEER_PUT")"
echo "runs: list ${R[list]}| pages ${R[pages]}| static ${R[static_list]}| stats ${R[stats]}| static ${R[static_stats]}| put ${R[put]}"
