#!/usr/bin/env bash
# Makes sure Debian's Chromium is on this machine: the HQ browser test
# (e2e/hq_browser_test.go) drives it headless. Without it that test skips,
# except under CI, where it must run. Installs the package when missing and
# running as root.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  command -v "$b" >/dev/null 2>&1 && exit 0
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found: install Debian's package 'chromium' (apt-get install -y chromium) to run the HQ browser test" >&2
  [ -n "${CI:-}" ] && exit 1
  exit 0
fi
echo "installing Chromium from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
