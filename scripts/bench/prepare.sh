#!/usr/bin/env bash
# Everything `npm run bench` needs on a fresh machine, from Debian's packages and the e2e setup:
# - pgbench (Debian ships it in postgresql-client-15, the version of the cluster's base image);
# - gnuplot-nox (gnuplot without X: its pngcairo terminal draws bench/lag.png);
# - a running Docker engine and the local base and S3 images (scripts/e2e/prepare.sh).
# Idempotent: installs only what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log() { printf '[bench-prepare] %s\n' "$*" >&2; }

missing=()
[ -x /usr/lib/postgresql/15/bin/pgbench ] || missing+=(postgresql-client-15)
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing ${missing[*]} and this is not root: install them (apt-get install ${missing[*]}), then run again"
    exit 1
  fi
  log "installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash "$here/../e2e/prepare.sh"
