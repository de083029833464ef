#!/usr/bin/env bash
# Pushes and pulls a large CSV through a release server and prints the server's peak memory,
# to check that uploads and downloads stream (target: under 200 MiB for a 1 GiB file).
#
#   cargo build --release -p riskops-cli
#   tools/bench/push_memory.sh FILE.csv
set -euo pipefail
file=${1:?usage: push_memory.sh FILE.csv}
bin=$(dirname "$0")/../../target/release/riskops
data=$(mktemp -d)
port=18099
RISKOPS_BOOTSTRAP_TOKEN=bench-token "$bin" serve --listen 127.0.0.1:$port --data-dir "$data" >"$data/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:$port/healthz && break; sleep 0.1; done
export RISKOPS_URL=http://127.0.0.1:$port RISKOPS_TOKEN=bench-token
size=$(stat -c %s "$file")
/usr/bin/time -f "push: %e s" "$bin" dataset push bench "$file" >/dev/null
/usr/bin/time -f "pull: %e s" "$bin" dataset pull bench@1 -o "$data/pulled" >/dev/null
cmp -s "$file" "$data/pulled" && echo "pulled bytes identical"
echo "file: $((size / 1048576)) MiB; server peak memory: $(awk '/VmHWM/ {print int($2 / 1024)}' /proc/$server/status) MiB"
