#!/usr/bin/env bash
# Everything the e2e tests need on a fresh machine: a running Docker engine and the local base
# image built from Debian's packages (no registry is reachable here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/ensure-docker.sh"
bash "$here/build-base-image.sh" bookworm
# Debian 13: PostgreSQL 17 with Patroni 4 and etcd, for automatic failover.
bash "$here/build-base-image.sh" trixie
bash "$here/build-s3-image.sh"
