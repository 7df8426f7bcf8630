#!/usr/bin/env bash
# Regenerates the README's pictures of the dashboard with headless Chromium:
#   docs/dashboard-job.png  the job page during `flinktune demo` (wordcount-ramp at --speed 600),
#                           once its first rescale has landed
#   docs/bench-report.png   `flinktune bench --scenario wordcount-ramp --report`
# Needs chromium (scripts/install-chromium.sh), curl and python3. About a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flinktune-shots.XXXXXX")
demo_pid=""
trap '[ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/flinktune" ./cmd/flinktune
shot() { # url file height
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile-$RANDOM" --hide-scrollbars --window-size=1400,"$3" \
    --virtual-time-budget=4000 --screenshot="$2" "$1" 2>/dev/null
}

"$tmp/flinktune" demo --speed 600 >"$tmp/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 120); do grep -q "dashboard: http" "$tmp/demo.out" && break; sleep 0.5; done
url=$(grep -o 'dashboard: http://[^ ]*' "$tmp/demo.out" | cut -d' ' -f2)
url=${url%%#*}
# The rescale and the restart that applied it, and an hour more of simulated time.
for _ in $(seq 240); do
  job=$(curl -s "${url}api/v1/jobs" | python3 -c 'import json,sys
j=json.load(sys.stdin)["jobs"]
print(j[0]["jobId"] if j and j[0]["markers"] >= 2 and j[0]["samples"] >= 700 else "")' 2>/dev/null || true)
  [ -n "$job" ] && break
  sleep 0.5
done
shot "${url}#job=${job}&cluster=simulator&w=all" docs/dashboard-job.png 1900
kill "$demo_pid"; demo_pid=""

"$tmp/flinktune" bench --scenario wordcount-ramp --report "$tmp/report.html" >/dev/null
shot "file://$tmp/report.html" docs/bench-report.png 2300
ls -l docs/dashboard-job.png docs/bench-report.png
