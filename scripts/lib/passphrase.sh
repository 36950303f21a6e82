#!/usr/bin/env bash
# Sourced by deploy.sh and destroy.sh. A stack whose secrets are passphrase-protected
# (`pulumi login --local`: Pulumi.<stack>.yaml has an encryptionsalt) needs the passphrase in every
# step, including the tools that read the outputs without a terminal. Taken from
# PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or asked once and exported.
# Usage: ensure_passphrase <stack>
ensure_passphrase() {
  local stack=$1
  if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ] || [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] ||
    ! grep -qs '^encryptionsalt:' "Pulumi.$stack.yaml"; then
    return 0
  fi
  if [ ! -t 0 ]; then
    echo "stack $stack's secrets are passphrase-protected and there is no terminal to ask on: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE" >&2
    exit 2
  fi
  read -rsp "Passphrase of stack $stack's secrets: " PULUMI_CONFIG_PASSPHRASE
  echo >&2
  export PULUMI_CONFIG_PASSPHRASE
}
