#!/usr/bin/env bash
# Lint and format, as the Pulumi anchors do, and shellcheck on every shell script (the role script
# included, as zalando/spilo's CI does). Part of `npm test`; installs shellcheck where it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[lint] %s\n' "$*" >&2; }

if ! command -v shellcheck >/dev/null 2>&1; then
    log "installing shellcheck (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null
fi

log "prettier: every .ts file"
npx prettier --check --log-level warn "**/*.ts"
log "eslint with @pulumi/eslint-plugin"
npx eslint --max-warnings 0 .
log "shellcheck: every shell script in the repository"
mapfile -t scripts < <(git ls-files | while read -r f; do
    [ -f "$f" ] && head -n 1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && echo "$f"
done)
shellcheck "${scripts[@]}"
log "lock files: npm ci of npm 10 and npm 11"
bash scripts/ci/check-lockfiles.sh
