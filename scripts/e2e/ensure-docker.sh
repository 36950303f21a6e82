#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io and starts
# dockerd in the background when none runs. Idempotent; used by the e2e tests and CI.
set -euo pipefail

log() { printf '[ensure-docker] %s\n' "$*" >&2; }

# No test container may reach link-local cloud metadata addresses (169.254.0.0/16): the EC2 bootstrap
# test runs the real role script, whose pgBackRest (repo1-s3-key-type=auto) asks the instance
# metadata service for credentials. Here that request must fail on this machine, never leave it.
# A rule in Docker's DOCKER-USER chain (for containers only), added once; where this engine runs
# without iptables, nothing to do.
block_metadata() {
  command -v iptables >/dev/null 2>&1 && iptables -n -L DOCKER-USER >/dev/null 2>&1 || return 0
  iptables -C DOCKER-USER -d 169.254.0.0/16 -j REJECT 2>/dev/null \
    || iptables -I DOCKER-USER -d 169.254.0.0/16 -j REJECT
  log "containers cannot reach 169.254.0.0/16 (cloud metadata)"
}

if docker info >/dev/null 2>&1; then
  log "Docker engine already running"
  block_metadata
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    log "dockerd is not installed and this is not root: install Docker, then run again"
    exit 1
  fi
  log "installing docker.io from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io iptables >/dev/null
fi

log "starting dockerd in the background (log: /tmp/pgha-dockerd.log)"
nohup dockerd >/tmp/pgha-dockerd.log 2>&1 &

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "Docker engine is up"
    block_metadata
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; see /tmp/pgha-dockerd.log"
tail -n 20 /tmp/pgha-dockerd.log >&2 || true
exit 1
