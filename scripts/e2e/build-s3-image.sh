#!/usr/bin/env bash
# Builds `pgha-s3:local`, a local S3-compatible server with MinIO's interface (see s3/minio-shim.js),
# for machines without a registry: the base image, Node from the project's node_modules, and
# s3rver installed from npm. The dev stack uses it through `pgha:backupS3Image=pgha-s3:local`.
set -euo pipefail
IMAGE=${PGHA_S3_IMAGE:-pgha-s3:local}
BASE=${PGHA_BASE_IMAGE:-pgha-base:bookworm}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
log() { printf '[build-s3-image] %s\n' "$*" >&2; }

if docker image inspect "$IMAGE" >/dev/null 2>&1 && [ "${PGHA_REBUILD_S3:-0}" != 1 ]; then
  log "$IMAGE already exists (PGHA_REBUILD_S3=1 rebuilds it)"
  exit 0
fi
node_bin=$(readlink -f "$root/node_modules/.bin/node")
[ -x "$node_bin" ] || { log "no Node binary in node_modules (run npm ci first)"; exit 1; }

ctx=$(mktemp -d /tmp/pgha-s3.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$node_bin" "$ctx/node"
cp "$here/s3/minio-shim.js" "$ctx/minio-shim.js"
(cd "$ctx" && npm init -y >/dev/null && npm install --no-audit --no-fund --omit=dev s3rver@3.7.1 >/dev/null 2>&1)
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY node /usr/local/bin/node
COPY node_modules /opt/s3/node_modules
COPY minio-shim.js /opt/s3/minio-shim.js
RUN printf '#!/bin/sh\nexec /usr/local/bin/node /opt/s3/minio-shim.js "\$@"\n' >/usr/local/bin/minio && chmod +x /usr/local/bin/minio
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/minio"]
DOCKERFILE
docker build -q -t "$IMAGE" "$ctx" >/dev/null
log "built $IMAGE"
