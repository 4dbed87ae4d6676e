#!/usr/bin/env bash
# Regenerates docs/trace.png, the README's picture of one request's trace: starts what is not running of the local
# stack and its Jaeger (npm run stack -- up --tracing), runs test/e2e/tracing.test.ts, which sends images through
# the gateway, router, v1 consumer and drift monitor exporting to Jaeger and saves one request's trace from Jaeger's
# query API in test/artifacts/trace.json, then draws it as an HTML waterfall photographed by headless Chromium
# (stack/jaeger/trace-screenshot.ts). Stops afterwards what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
servers=(kafka schema-registry minio jaeger)
started=()
for s in "${servers[@]}"; do
  npm run -s stack -- status "$s" >/dev/null 2>&1 || started+=("$s")
done
stop_started() {
  if [ "${#started[@]}" -gt 0 ]; then npm run -s stack -- down "${started[@]}"; fi
}
trap stop_started EXIT
npm run -s stack -- up --tracing >/dev/null
eval "$(npm run -s stack -- env --tracing)"
# Shared with the other suites that use the broker (a faults run takes it exclusively).
flock -s /tmp/imgpipe-broker.lock npx vitest run --project e2e test/e2e/tracing.test.ts
mkdir -p docs
npx tsx stack/jaeger/trace-screenshot.ts test/artifacts/trace.json docs/trace.png
