#!/usr/bin/env bash
# Destroys a stack. On Docker it first removes what `npm run restore` left beside the cluster
# (restore containers and their volumes: they sit on the cluster network, which could not be
# removed otherwise), and stops before the destroy when a container that is not the cluster's
# (an app) is still on the cluster network. The nodes' data volumes and the backup repository stay unless
# pgha:keepDataOnDestroy is false. Usage: npm run destroy -- <stack> [pulumi destroy flags...]
set -euo pipefail
stack=${1:?usage: npm run destroy -- <stack> [pulumi destroy flags]}
shift
# shellcheck source=/dev/null  # scripts/lib/passphrase.sh, checked on its own
. "$(dirname "$0")/lib/passphrase.sh"
ensure_passphrase "$stack"
if [ "$(pulumi config get pgha:platform --stack "$stack" 2>/dev/null || echo docker)" != aws ]; then
  npx tsx scripts/restore/cleanup.ts --cluster "pgha-$stack"
fi
pulumi destroy --stack "$stack" "$@"
