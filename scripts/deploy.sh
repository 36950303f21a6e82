#!/usr/bin/env bash
# Deploys a stack and ends with the post-deploy check, so no deploy goes unverified.
# Usage: npm run deploy -- <stack> [pulumi up flags...]   (prod: verify runs through the SSM tunnel)
set -euo pipefail
stack=${1:?usage: npm run deploy -- <stack> [pulumi up flags]}
shift
pulumi up --stack "$stack" "$@"
if [ "$(pulumi config get pgha:platform --stack "$stack" 2>/dev/null || echo docker)" = aws ]; then
  npx tsx scripts/prod-tunnel.ts --stack "$stack" --verify
else
  npm run verify -- --stack "$stack"
fi
