#!/usr/bin/env bash
# Builds a local base image from Debian's packages, for machines that cannot pull from a registry:
# debootstrap a rootfs, install PostgreSQL, PgBouncer, pgBackRest and the client tools into it,
# then `docker import` it. Usage: build-base-image.sh [bookworm|trixie]
#   bookworm  pgha-base:bookworm, PostgreSQL 15 (the EC2 bootstrap tests, which boot Debian 12 user data)
#   trixie    pgha-base:trixie, PostgreSQL 17 with Patroni 4.0.7 and etcd 3.5 (automatic failover)
# Users with registry access never need this: the node image builds FROM postgres:17 by default.
set -euo pipefail

SUITE=${1:-bookworm}
case "$SUITE" in
  bookworm)
    PG_MAJOR=15
    PACKAGES="postgresql-15 postgresql-client-15 pgbouncer pgbackrest curl openssl ca-certificates procps"
    REQUIRED_COMMANDS="postgres pgbouncer pgbackrest curl openssl"
    ;;
  trixie)
    PG_MAJOR=17
    # python3-etcd: Patroni's etcd3 client builds on it (patroni/dcs/etcd.py imports etcd).
    PACKAGES="postgresql-17 postgresql-client-17 pgbouncer pgbackrest patroni python3-etcd etcd-server etcd-client curl openssl ca-certificates procps iproute2"
    REQUIRED_COMMANDS="postgres pgbouncer pgbackrest patroni patronictl etcd etcdctl curl openssl"
    ;;
  *) echo "[build-base-image] usage: build-base-image.sh [bookworm|trixie], got '$SUITE'" >&2; exit 2 ;;
esac
IMAGE=${PGHA_BASE_IMAGE:-pgha-base:$SUITE}
# What the tests rely on is REQUIRED_COMMANDS; an older image without one of them is rebuilt.

log() { printf '[build-base-image] %s\n' "$*" >&2; }

if docker image inspect "$IMAGE" >/dev/null 2>&1 && [ "${PGHA_REBUILD_BASE:-0}" != 1 ] \
  && docker run --rm --entrypoint bash "$IMAGE" -c "for c in $REQUIRED_COMMANDS; do command -v \$c >/dev/null || exit 1; done"; then
  log "$IMAGE already exists (PGHA_REBUILD_BASE=1 rebuilds it)"
  exit 0
fi

# The Debian mirror this machine's apt already uses, so no host name is written down here.
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -v security | grep -oE 'https?://[^ ]+/debian/?' | head -n 1 || true)
fi
[ -n "$mirror" ] || { log "no Debian mirror found in apt sources; set DEBIAN_MIRROR"; exit 1; }

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq debootstrap >/dev/null
fi

root=$(mktemp -d /tmp/pgha-rootfs.XXXXXX)
cleanup() { umount "$root/proc" 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT

log "debootstrap $SUITE into $root"
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"/tmp/pgha-debootstrap-$SUITE.log" 2>&1 \
  || { tail -n 30 "/tmp/pgha-debootstrap-$SUITE.log" >&2; exit 1; }

# No service may start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
# Keep the Debian packaging from creating a default cluster: the node scripts run initdb themselves.
mkdir -p "$root/etc/postgresql-common"
echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.conf"

log "installing $PACKAGES"
mount -t proc proc "$root/proc"
# shellcheck disable=SC2086 # $PACKAGES is a list of package names, split on purpose
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES \
  >"/tmp/pgha-base-apt-$SUITE.log" 2>&1 || { tail -n 30 "/tmp/pgha-base-apt-$SUITE.log" >&2; exit 1; }
umount "$root/proc"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d"

log "importing $root as $IMAGE"
tar -C "$root" -c . | docker import \
  --change "ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
log "built $IMAGE"
