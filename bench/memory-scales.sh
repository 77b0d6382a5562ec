#!/usr/bin/env bash
# Peak RSS of `backup` (three stores) and of a restore into emptied stores, at the given scales, on
# the stack named by the environment (DATABASE_URL, NEO4J_*, QDRANT_URL). It seeds with --force and
# empties the stores: point it at a stack of its own (see bench/README.md).
#   bash bench/memory-scales.sh 1 5
set -euo pipefail
cd "$(dirname "$0")/.."
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(1 5)
for scale in "${scales[@]}"; do
  out=$(mktemp -d)
  node bin/acx-data.js seed --scale "$scale" --seed 1 --force -q
  /usr/bin/time -v -o "$out/backup.time" node bin/acx-data.js backup --postgres --neo4j --qdrant --backup-dir "$out/repo" -q --format json > "$out/backup.json"
  id=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$out/backup.json')).id)")
  npx node bench/stores.ts empty
  /usr/bin/time -v -o "$out/restore.time" node bin/acx-data.js backup --restore "$id" --backup-dir "$out/repo" -q
  rss() { awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$1"; }
  wall() { awk -F': ' '/Elapsed/ {print $2}' "$1"; }
  echo "scale $scale: backup peak RSS $(rss "$out/backup.time") MiB ($(wall "$out/backup.time")); restore into emptied stores peak RSS $(rss "$out/restore.time") MiB ($(wall "$out/restore.time"))"
  rm -rf "$out"
done
