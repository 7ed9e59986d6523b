#!/usr/bin/env bash
# The one test command (`npm test`): typecheck, Node suites (unit, gpu, parity: vitest.config.ts),
# then browser suites (Chromium WebGPU: vitest.e2e.config.ts). Extra arguments go to both vitest runs.
# Machines without a GPU run WebGPU on SwiftShader: see /work/shared/WEBGPU-CPU.md and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Dawn (Node) finds no Vulkan driver without an ICD; Debian's chromium package ships SwiftShader's.
SWIFTSHADER_ICD=/usr/lib/chromium/vk_swiftshader_icd.json
if [[ -z "${VK_ICD_FILENAMES:-}" && -f "$SWIFTSHADER_ICD" ]]; then
  export VK_ICD_FILENAMES="$SWIFTSHADER_ICD"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

echo "== typecheck"
npx tsc -p tsconfig.json --noEmit

echo "== node tests (unit, gpu, parity)"
npx vitest run "$@"

echo "== browser tests (Chromium WebGPU)"
npx vitest run --config vitest.e2e.config.ts "$@"
