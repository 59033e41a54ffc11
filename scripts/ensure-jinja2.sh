#!/usr/bin/env bash
# Makes sure /usr/bin/python3 can import jinja2 (Debian's python3-jinja2): the
# Jinja2 differential test (mapper/jinja2_diff_test.go) renders its corpus with
# it. Not "python3" from PATH: a pyenv/venv interpreter there usually lacks
# jinja2. Without it that test skips, except under CI, where it must run.
# Installs the package when missing and running as root.
set -euo pipefail
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import jinja2' >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "jinja2 not found for $PY: install Debian's package 'python3-jinja2' (apt-get install -y python3-jinja2) to run the Jinja2 differential test" >&2
  [ -n "${CI:-}" ] && exit 1
  exit 0
fi
echo "installing python3-jinja2 from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-jinja2 >/dev/null
"$PY" -c 'import jinja2'
