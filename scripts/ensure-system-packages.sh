#!/usr/bin/env bash
# Debian packages the demo and the tests need beyond Node, Java, Maven, Go and Python:
#   dataset-fashion-mnist  the images and labels (samples, parity checks)
#   chromium               the dashboard test (headless, driven by playwright-core)
#   prometheus             its promtool: the alert rules, their unit tests and the dashboard queries (test/deploy)
#   python3-pip            `pip download` of the Kubernetes API schemas (deploy/checks/tools.ts), if python3 lacks pip
# The other deploy-check tools (kubeconform, kustomize, KEDA's CRDs) come from the Go module proxy at test time.
set -euo pipefail
missing=()
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || [ -n "${FASHION_MNIST_DIR:-}" ] || missing+=(dataset-fashion-mnist)
[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ] || missing+=(chromium)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
# Without recommends: prometheus would bring a node exporter, and only its promtool is used.
bare=()
command -v promtool >/dev/null 2>&1 || bare+=(prometheus)
[ ${#missing[@]} -eq 0 ] && [ ${#bare[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]} ${bare[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "missing Debian packages ${missing[*]} ${bare[*]}: run 'apt-get install -y ${missing[*]} ${bare[*]}' as root, then try again" >&2
    exit 1
  fi
else SUDO=""; fi
$SUDO apt-get update -qq
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
[ ${#bare[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${bare[@]}" >/dev/null
