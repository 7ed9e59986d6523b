#!/usr/bin/env bash
# The benchmark suite on a real GPU: on a Linux machine with an NVIDIA GPU (driver installed) and
# Node >= 20.19, nothing else prepared. Installs what is missing (the Vulkan loader and Chromium
# from the distribution's packages, the npm packages), finds the NVIDIA Vulkan driver, prints the
# adapter that Dawn (Node) and Chromium get, then runs the benchmarks with Dawn in Node and the
# peer comparison in Chromium on that adapter. Output also goes to out/gpu-bench-<time>.log.
#
#   bash bench/gpu.sh            # kernels, tiny / shapes / Swin-T 384x384 forward, cold start, frame, peer
#   bash bench/gpu.sh --quick    # kernels and the peer only
#   bash bench/gpu.sh --allow-cpu  # run anyway where no NVIDIA driver is found (checks the script on a CPU adapter)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 allow_cpu=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --allow-cpu) allow_cpu=1 ;;
    *) echo "gpu.sh: unknown option '$a' (known: --quick, --allow-cpu)" >&2; exit 2 ;;
  esac
done

SUDO=""
if [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

node_ok() { command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; }
if ! node_ok; then
  echo "gpu.sh: Node >= 20.19 is needed (found: $(node --version 2>/dev/null || echo none)); install it from nodejs.org or your distribution" >&2
  exit 1
fi

has_vulkan_loader() { "$(command -v ldconfig || echo /sbin/ldconfig)" -p | grep libvulkan.so.1 >/dev/null; }
if [[ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]] || ! has_vulkan_loader; then
  if command -v apt-get >/dev/null; then
    $SUDO apt-get update -o DPkg::Lock::Timeout=600
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 chromium libvulkan1
  else
    echo "gpu.sh: no apt-get; install Chromium and the Vulkan loader (libvulkan.so.1), or set CHROMIUM_PATH" >&2
    exit 1
  fi
fi
[[ -d node_modules ]] || npm ci --no-audit --no-fund

# The NVIDIA Vulkan ICD: where the driver packages and container toolkits put it.
icd=""
for f in /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json \
         /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json /usr/local/share/vulkan/icd.d/nvidia_icd*.json; do
  if [[ -f "$f" ]]; then icd="$f"; break; fi
done
if [[ -n "$icd" ]]; then
  export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"
elif [[ "$allow_cpu" == 1 ]]; then
  echo "gpu.sh: no NVIDIA Vulkan driver found; --allow-cpu: running on the CPU adapter" >&2
  export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
else
  echo "gpu.sh: no NVIDIA Vulkan ICD (nvidia_icd.json) found; is the NVIDIA driver installed? (--allow-cpu runs anyway)" >&2
  exit 1
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# Chromium on a GPU: WebGPU over Vulkan, no blocklist (headless servers are often blocklisted).
if [[ -n "$icd" ]]; then
  export MASKGPU_WEBGPU_FLAGS="${MASKGPU_WEBGPU_FLAGS:---enable-unsafe-webgpu --enable-features=Vulkan --use-angle=vulkan --use-vulkan=native --ignore-gpu-blocklist}"
fi
# Benches that pick an adapter for themselves (f16 memory on lavapipe) take the one Dawn finds.
export MASKGPU_BENCH_ADAPTER=default

mkdir -p out
log="out/gpu-bench-$(date +%Y%m%d-%H%M%S).log"
exec > >(tee "$log") 2>&1

echo "== machine"
uname -srm
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"
echo "node $(node --version); VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"

echo "== adapter (Dawn in Node)"
node --input-type=module -e '
  import { create, globals } from "webgpu";
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const a = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!a) { console.log("no adapter"); process.exit(1); }
  const i = a.info;
  console.log(`${i.vendor} ${i.architecture} ${i.device} ${i.description} fallback=${i.isFallbackAdapter}`);
  console.log(`features: ${[...a.features].sort().join(" ")}`);
  process.exit(0);
'

bench() {
  echo "== $*"
  npx vitest run --config bench/vitest.bench.config.ts "$@" || echo "gpu.sh: $* failed (exit $?)"
}
bench bench/kernels.bench.ts
if [[ "$quick" == 0 ]]; then
  bench bench/forward.bench.ts
  bench bench/cold-start.bench.ts
  bench bench/frame.bench.ts
  bench bench/real-size.bench.ts
  bench bench/f16-memory.bench.ts
fi
echo "== Chromium (peer: onnxruntime-web and maskgpu in one page); flags: ${MASKGPU_WEBGPU_FLAGS:-default}"
PEER_CASES="${PEER_CASES:-tiny,shapes}" bench bench/peer.bench.ts
echo "gpu.sh: log in $log"
