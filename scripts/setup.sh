#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and run maskgpu without a GPU:
# Chromium (WebGPU in the browser; it also ships SwiftShader's Vulkan ICD that Dawn uses in
# Node), the Vulkan loader, Mesa's lavapipe from bookworm-backports (a CPU Vulkan driver with
# shader-f16, used only by the f16 tests: test/gpu/f16.test.ts), and the npm packages (npm ci).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# Not `grep -q`: with pipefail, ldconfig can die of SIGPIPE when grep exits early.
has_vulkan_loader() { "$(command -v ldconfig || echo /sbin/ldconfig)" -p | grep libvulkan.so.1 >/dev/null; }

if [[ ! -x /usr/bin/chromium || ! -f /usr/lib/chromium/vk_swiftshader_icd.json ]] || ! has_vulkan_loader; then
  $SUDO apt-get update -o DPkg::Lock::Timeout=600
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 chromium libvulkan1
fi

# lavapipe: the f16 tests are verified with bookworm-backports' Mesa (25.0.7), whose lavapipe
# gives Dawn shader-f16; bookworm's own Mesa 22.3 was not tried, so anything older than 24 is replaced.
# SwiftShader stays the adapter of every other test (scripts/test.sh selects it).
has_lavapipe_f16() {
  local v
  v="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
  [[ -n "$v" ]] && dpkg --compare-versions "$v" ge 24 && compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null
}
install_lavapipe() {
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  if [[ "$codename" != bookworm ]]; then
    echo "setup: not Debian 12 (bookworm); install a Mesa >= 24 lavapipe (mesa-vulkan-drivers) for the f16 tests" >&2
    return 0
  fi
  if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
  $SUDO apt-get update -qq -o DPkg::Lock::Timeout=600 &&
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 -t bookworm-backports mesa-vulkan-drivers >/dev/null
}
# Optional: without lavapipe the f16 tests skip (and say why); everything else runs on SwiftShader.
if ! has_lavapipe_f16; then
  install_lavapipe || echo "setup: could not install lavapipe from bookworm-backports; the f16 tests will be skipped" >&2
fi

npm ci --no-audit --no-fund
