#!/usr/bin/env bash
# Debian packages the demo and the tests need beyond Node, Java, Maven and Go:
#   dataset-fashion-mnist  the images and labels (samples, parity checks)
#   chromium               the dashboard test (headless, driven by playwright-core)
set -euo pipefail
missing=()
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || [ -n "${FASHION_MNIST_DIR:-}" ] || missing+=(dataset-fashion-mnist)
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "missing Debian packages ${missing[*]}: run 'apt-get install -y ${missing[*]}' as root, then try again" >&2
    exit 1
  fi
else SUDO=""; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
