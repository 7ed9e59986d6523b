#!/usr/bin/env bash
# The one test command (`npm test`): typecheck, Node suites (unit, gpu, parity, robustness: vitest.config.ts),
# then browser suites (Chromium WebGPU: vitest.e2e.config.ts), then one summary line.
# Extra arguments go to both vitest runs. Machines without a GPU run WebGPU on SwiftShader
# (see scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# Dawn (Node) finds no Vulkan driver without an ICD; Debian's chromium package ships SwiftShader's.
SWIFTSHADER_ICD=/usr/lib/chromium/vk_swiftshader_icd.json
if [[ -z "${VK_ICD_FILENAMES:-}" && -f "$SWIFTSHADER_ICD" ]]; then
  export VK_ICD_FILENAMES="$SWIFTSHADER_ICD"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
mkdir -p out

echo "== typecheck"
npx tsc -p tsconfig.json --noEmit

status=0
echo "== node tests (unit, gpu, parity, robustness)"
npx vitest run --reporter=default --reporter=json --outputFile.json=out/vitest-node.json "$@" || status=$?

echo "== browser tests (Chromium WebGPU)"
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile.json=out/vitest-e2e.json "$@" || status=$?

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of ["out/vitest-node.json", "out/vitest-e2e.json"]) {
    if (!fs.existsSync(f)) { failed++; console.error(`missing ${f}`); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
'
exit "$status"
