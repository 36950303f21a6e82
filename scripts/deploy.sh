#!/usr/bin/env bash
# Deploys a stack and ends with the post-deploy check, so no deploy goes unverified.
# Usage: npm run deploy -- <stack> [pulumi up flags...]   (prod: verify runs through the SSM tunnel)
# A passphrase-protected stack's passphrase is asked once (or taken from PULUMI_CONFIG_PASSPHRASE /
# PULUMI_CONFIG_PASSPHRASE_FILE) and passed to every step. On Docker, `npm run preflight` checks the
# images and host ports before `pulumi up` creates anything.
set -euo pipefail
stack=${1:?usage: npm run deploy -- <stack> [pulumi up flags]}
shift
# shellcheck source=/dev/null  # scripts/lib/passphrase.sh, checked on its own
. "$(dirname "$0")/lib/passphrase.sh"
ensure_passphrase "$stack"
platform=$(pulumi config get pgha:platform --stack "$stack" 2>/dev/null || echo docker)
if [ "$platform" != aws ]; then
  npx tsx scripts/preflight.ts --stack "$stack"
fi
pulumi up --stack "$stack" "$@"
if [ "$platform" = aws ]; then
  npx tsx scripts/prod-tunnel.ts --stack "$stack" --verify
else
  npx tsx scripts/verify-replication.ts --stack "$stack"
fi
