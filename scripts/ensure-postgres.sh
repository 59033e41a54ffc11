#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries (initdb, pg_ctl) are on this
# machine: `orderintake dev` and the tests start a private cluster with them.
# Installs Debian's postgresql package when they are missing (needs root).
set -euo pipefail
[ -n "${DATABASE_URL:-}${TEST_DATABASE_URL:-}" ] && exit 0
command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && exit 0
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's package 'postgresql' (apt-get install -y postgresql), or set DATABASE_URL" >&2
  exit 1
fi
echo "installing PostgreSQL from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
