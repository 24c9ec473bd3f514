#!/usr/bin/env bash
# Runs one slow make step, saying what it is before and how long it took after (or that it failed).
#   local/timed.sh "installing Python packages" pip install …
label=$1
shift
printf '==> %s\n' "$label"
start=$EPOCHREALTIME
"$@"
status=$?
seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
if [ "$status" -ne 0 ]; then
  printf '==> %s: failed (exit %d) after %s s\n' "$label" "$status" "$seconds" >&2
  exit "$status"
fi
printf '==> %s: done in %s s\n' "$label" "$seconds"
