#!/usr/bin/env bash
# Both lock files must be accepted by `npm ci` of npm 10 (Node 22) and npm 11 (Node 24): README's
# first command. `npm ci --dry-run` checks that package.json and the lock agree without installing.
# The npm in PATH is checked by the real `npm ci` that .ci/run runs; this adds the other major.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
check() { # <dir> <npm command...>
    local dir=$1; shift
    local tmp; tmp=$(mktemp -d)
    cp "$root/$dir/package.json" "$root/$dir/package-lock.json" "$tmp/"
    if ! (cd "$tmp" && "$@" ci --dry-run --ignore-scripts --no-audit --no-fund >"$tmp/log" 2>&1); then
        echo "[check-lockfiles] $dir/package-lock.json is refused by '$* ci':" >&2
        grep -E 'EUSAGE|Missing|Invalid' "$tmp/log" | head -n 20 >&2
        rm -rf "$tmp"; return 1
    fi
    rm -rf "$tmp"
    echo "[check-lockfiles] $dir/package-lock.json: accepted by '$* ci'"
}
for dir in . policy; do
    check "$dir" npm
    check "$dir" npx -y npm@10
    check "$dir" npx -y npm@11
done
