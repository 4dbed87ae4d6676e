#!/usr/bin/env bash
# Regenerates docs/gateway-page.png, the README's picture of the gateway page (GET /ui): runs
# test/e2e/gateway-page.test.ts against the local stack (npm run stack -- up), which drives the page in headless
# Chromium through a real pipeline and saves it as a small palette PNG in test/artifacts/, then copies it.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(npm run -s stack -- env)"
npx vitest run --project e2e test/e2e/gateway-page.test.ts
mkdir -p docs
cp test/artifacts/gateway-page.png docs/gateway-page.png
echo "docs/gateway-page.png: $(stat -c %s docs/gateway-page.png) bytes"
