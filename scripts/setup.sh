#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and run maskgpu without a GPU:
# Chromium (WebGPU in the browser; it also ships SwiftShader's Vulkan ICD that Dawn uses in
# Node), the Vulkan loader, and the npm packages (npm ci). Safe to run again.
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

npm ci --no-audit --no-fund
