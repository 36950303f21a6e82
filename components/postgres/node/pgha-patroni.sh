#!/usr/bin/env bash
# pgha-patroni: the roles of a cluster whose failover is automatic (pgha:failover automatic):
# Patroni runs PostgreSQL, etcd members hold the DCS, PgBouncer follows Patroni's leader. It builds
# on pgha-node (sourced for its helpers: secrets, logging, PgBouncer's routing loop), which stays
# the script of manual-failover clusters and of the EC2 stack. Files in /etc/pgha besides node.env:
#   patroni.yml     Patroni's local configuration (no secret: the passwords arrive as PATRONI_*
#                   variables from secrets/, which Patroni keeps from PostgreSQL's environment)
#   bootstrap.sql   the cluster's roles and functions, run by the leader after bootstrap, at every
#                   start and after every promotion (so a rotated password reaches a live cluster)
# Patroni reads a user's password from the environment only with its user name there too, and
# etcd3's only when an etcd3 setting is there (patroni/config.py, _build_environment_configuration).
# Usage: pgha-patroni patroni | etcd | pgbouncer | health | post-bootstrap | callback ACTION ROLE SCOPE
set -euo pipefail
PGHA_ETC=${PGHA_ETC:-/etc/pgha}
# shellcheck source=/dev/null # pgha-node.sh, installed as bin/pgha-node
. "$PGHA_ETC/bin/pgha-node"
SELF="$PGHA_ETC/bin/pgha-patroni"

# The oldest versions this cluster runs on. Patroni before 4.0.6 can let an isolated former primary
# win the leader race after a partition heals and acknowledge writes alone (fixed in 3.1.0 and 4.0.6).
MIN_PATRONI=4.0.6
MIN_ETCD=3.5.0
MIN_PGBACKREST=2.45
MIN_PGBOUNCER=1.21.0

# Stops unless version $2 of $1 is at least $3.
require_version() {
  local what=$1 have=$2 need=$3
  [ -n "$have" ] || die "could not read the version of $what"
  if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]; then
    die "$what $have is older than $need, the oldest this cluster runs on: use an image with a newer $what"
  fi
  log "$what $have (at least $need)"
}

version_of() { "$@" 2>/dev/null | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n 1 || true; }

# Patroni's REST API on this node, as the API user for what needs credentials.
api() { curl -sS -m "${API_TIMEOUT:-3}" "$@"; }

run_patroni() {
  prepare
  require_version Patroni "$(version_of patroni --version)" "$MIN_PATRONI"
  [ ! -e /etc/pgbackrest/pgbackrest.conf ] || require_version pgBackRest "$(version_of pgbackrest version)" "$MIN_PGBACKREST"
  local superuser replicator app pgbouncer_auth monitor replicator_password api_password etcd_password
  secret_to superuser superuser_verifier
  secret_to replicator replicator_verifier
  secret_to app app_verifier
  secret_to pgbouncer_auth pgbouncer_auth_verifier
  secret_to monitor monitor_verifier
  secret_to replicator_password replicator
  secret_to api_password patroni_api
  secret_to etcd_password etcd_patroni
  # The bootstrap SQL's values (SCRAM verifiers only), for the leader's callbacks, which run as postgres.
  write_bootstrap_vars "$superuser" "$replicator" "$app" "$pgbouncer_auth" "$monitor"
  # For the leader's callbacks (they run as postgres): the REST API's credentials, for PATCH /config.
  printf 'machine 127.0.0.1 login patroni password %s\n' "$api_password" | write_private "$RUN/patroni-api.netrc"
  # A data directory without PG_VERSION is not one: Patroni clones it from the leader, or
  # bootstraps a new cluster only when the DCS has none (never an empty primary under a live name).
  if [ -d "$PGDATA" ] && [ ! -s "$PGDATA/PG_VERSION" ] && [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
    log "$PGDATA has files but no PG_VERSION: moving them aside to $DATA_ROOT/pgdata.incomplete"
    rm -rf "$DATA_ROOT/pgdata.incomplete"
    mv "$PGDATA" "$DATA_ROOT/pgdata.incomplete"
  fi
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  log "starting Patroni (member $PGHA_NODE)"
  exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql \
    PATRONI_REPLICATION_USERNAME=replicator PATRONI_REPLICATION_PASSWORD="$replicator_password" \
    PATRONI_REWIND_USERNAME=replicator PATRONI_REWIND_PASSWORD="$replicator_password" \
    PATRONI_RESTAPI_USERNAME=patroni PATRONI_RESTAPI_PASSWORD="$api_password" \
    PATRONI_ETCD3_PROTOCOL=http PATRONI_ETCD3_USERNAME=patroni PATRONI_ETCD3_PASSWORD="$etcd_password" \
    patroni "$PGHA_ETC/patroni.yml"
}

# The bootstrap SQL on this node's socket, as postgres (peer).
bootstrap_sql() {
  psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -d postgres \
    -f "$RUN/bootstrap-vars.sql" -f "$PGHA_ETC/bootstrap.sql" >"$RUN/bootstrap-sql.log" 2>&1
}

# Right after Patroni's bootstrap (it waits for this; a failure fails the bootstrap).
post_bootstrap() {
  bootstrap_sql || { cat "$RUN/bootstrap-sql.log" >&2; die "bootstrap SQL failed"; }
  log "bootstrap SQL applied"
  date -u +%FT%TZ >"$RUN/bootstrap-sql.done"
}

# The deployment's cluster-wide settings (patroni-dynamic.json) into the DCS: bootstrap.dcs counts
# only at the first bootstrap, so a redeploy's change reaches a live cluster this way. Settings
# PostgreSQL takes only at start then show as "pending restart" (patronictl list).
patch_dynamic_config() {
  local _ code=""
  for _ in 1 2 3 4 5; do
    code=$(curl -s -o "$RUN/patch-config.out" -w '%{http_code}' -m 5 --netrc-file "$RUN/patroni-api.netrc" \
      -X PATCH -H 'Content-Type: application/json' --data-binary @"$PGHA_ETC/patroni-dynamic.json" \
      http://127.0.0.1:8008/config) || code=""
    if [ "$code" = 200 ]; then log "cluster-wide settings written to the DCS"; return 0; fi
    sleep 1
  done
  log "ERROR: PATCH /config answered ${code:-nothing}: $(head -c 300 "$RUN/patch-config.out" 2>/dev/null)"
  return 1
}

# The bootstrap SQL again, only while this member leads (retried for 60 s: a promotion is under way).
apply_bootstrap_sql() {
  local _
  for _ in $(seq 1 60); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 http://127.0.0.1:8008/primary)" = 200 ] && bootstrap_sql; then
      log "bootstrap SQL applied"
      date -u +%FT%TZ >"$RUN/bootstrap-sql.done"
      patch_dynamic_config
      return
    fi
    sleep 1
  done
  log "ERROR: the bootstrap SQL failed for 60 s: $(tail -n 3 "$RUN/bootstrap-sql.log" 2>/dev/null | tr '\n' ' ')"
  return 1
}

# Patroni's callbacks (on_start, on_role_change): a leader re-applies the bootstrap SQL. Patroni
# ends a running callback when the next one starts, so the work runs detached from it.
callback() {
  local action=$1 role=$2
  log "Patroni callback: $action as $role"
  case "$role" in
    primary | master) setsid bash "$SELF" apply-bootstrap-sql </dev/null >>"$RUN/callbacks.log" 2>&1 & ;;
  esac
  return 0
}

# ---- etcd ----------------------------------------------------------------------------------------

etcdctl_root() { ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 --user "root:$ETCD_ROOT_PASSWORD" "$@"; }

# With authentication on, only Patroni's user reaches the cluster's keys (/service/), and root the rest.
enable_etcd_auth() {
  local patroni_password
  secret_to patroni_password etcd_patroni
  until curl -sf -m 2 http://127.0.0.1:2379/health >/dev/null; do sleep 1; done
  if { ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 auth status 2>/dev/null || etcdctl_root auth status 2>/dev/null; } \
    | grep -q 'Authentication Status: true'; then
    log "etcd authentication already on"
  else
    log "turning etcd authentication on"
    local e=(env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379)
    "${e[@]}" user get root >/dev/null 2>&1 || "${e[@]}" user add root --new-user-password="$ETCD_ROOT_PASSWORD" >/dev/null || return 1
    "${e[@]}" user grant-role root root >/dev/null || return 1
    "${e[@]}" user get patroni >/dev/null 2>&1 || "${e[@]}" user add patroni --new-user-password="$patroni_password" >/dev/null || return 1
    "${e[@]}" role get patroni >/dev/null 2>&1 || "${e[@]}" role add patroni >/dev/null || return 1
    "${e[@]}" role grant-permission patroni --prefix=true readwrite /service/ >/dev/null || return 1
    "${e[@]}" user grant-role patroni patroni >/dev/null || return 1
    "${e[@]}" auth enable >/dev/null || return 1
  fi
  # A redeploy with a new password (a replaced stack secret) reaches the running cluster.
  etcdctl_root user passwd patroni --interactive=false <<<"$patroni_password" >/dev/null || return 1
  touch "$RUN/etcd-auth-ready"
}

run_etcd() {
  prepare
  require_version etcd "$(version_of etcd --version)" "$MIN_ETCD"
  [ "${PGHA_ETCD_FIRST:-0}" != 1 ] || secret_to ETCD_ROOT_PASSWORD etcd_root
  local host initial=""
  for host in $PGHA_ETCD_HOSTS; do initial+="${initial:+,}$host=http://$host:2380"; done
  install -d -o postgres -g postgres -m 0700 /var/lib/etcd /var/lib/etcd/member-data
  log "starting etcd member $PGHA_NODE of $PGHA_ETCD_HOSTS"
  setpriv --reuid=postgres --regid=postgres --init-groups etcd --name "$PGHA_NODE" \
    --data-dir /var/lib/etcd/member-data \
    --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls "http://$PGHA_HOST:2379" \
    --listen-peer-urls http://0.0.0.0:2380 --initial-advertise-peer-urls "http://$PGHA_HOST:2380" \
    --initial-cluster "$initial" --initial-cluster-state new \
    --initial-cluster-token "$PGHA_ETCD_CLUSTER_TOKEN" --log-level warn &
  ETCD_PID=$!
  trap 'kill -TERM "$ETCD_PID" 2>/dev/null' INT TERM
  if [ "${PGHA_ETCD_FIRST:-0}" = 1 ]; then enable_etcd_auth || log "ERROR: could not turn etcd authentication on"; fi
  wait "$ETCD_PID"
}

# ---- PgBouncer -----------------------------------------------------------------------------------

# The leader, as the DCS names it (Patroni's /cluster on any member that answers, the last leader
# first) and as it says itself (its own /primary answers 200), and the replicas that stream within
# PGHA_READ_MAX_LAG_BYTES. Sets PGHA_PRIMARY_HOST (kept while no member is confirmed leader) and
# PGHA_READ_HOSTS; route_pgbouncer of pgha-node writes PgBouncer's [databases] from them.
# shellcheck disable=SC2034 # both are read by route_pgbouncer (pgha-node)
load_topology() {
  local last host view="" leader=""
  last=$(cat "$RUN/leader" 2>/dev/null || echo "$DEPLOYED_PRIMARY_HOST")
  for host in $last $PGHA_MEMBER_HOSTS; do
    view=$(curl -sf -m 1 "http://$host:8008/cluster" 2>/dev/null) && break
    view=""
  done
  if [ -n "$view" ]; then
    local parsed
    parsed=$(python3 -c '
import json, sys
c = json.loads(sys.argv[1]); bound = int(sys.argv[2])
leader = [m["host"] for m in c.get("members", []) if m.get("role") == "leader" and m.get("state") == "running"]
reads = [m["host"] for m in c.get("members", []) if m.get("role") in ("replica", "sync_standby", "quorum_standby")
         and m.get("state") == "streaming" and isinstance(m.get("lag"), int) and m["lag"] <= bound]
print(leader[0] if leader else "")
print(" ".join(reads))' "$view" "${PGHA_READ_MAX_LAG_BYTES:-16777216}" 2>/dev/null) || parsed=""
    leader=$(sed -n 1p <<<"$parsed")
    PGHA_READ_HOSTS=$(sed -n 2p <<<"$parsed")
  else
    PGHA_READ_HOSTS=""
  fi
  if [ -n "$leader" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' -m 1 "http://$leader:8008/primary")" = 200 ]; then
    [ "$leader" = "$last" ] || log "leader is $leader (was $last)"
    echo "$leader" >"$RUN/leader"
    PGHA_PRIMARY_HOST=$leader
  else
    PGHA_PRIMARY_HOST=$last
  fi
}

# The replicas load_topology found streaming; no login to any node.
replica_streams() { case " $PGHA_READ_HOSTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---- health --------------------------------------------------------------------------------------

patroni_health() {
  case "$PGHA_ROLE" in
    # PostgreSQL runs under Patroni; the leader has applied the bootstrap SQL since it started.
    patroni)
      [ "$(curl -s -o /dev/null -w '%{http_code}' -m 3 http://127.0.0.1:8008/health)" = 200 ] || return 1
      if [ "$(curl -s -o /dev/null -w '%{http_code}' -m 3 http://127.0.0.1:8008/primary)" = 200 ]; then
        [ -e "$RUN/bootstrap-sql.done" ]
      fi
      ;;
    # The member answers with a quorum; the first member once authentication is on.
    etcd)
      curl -sf -m 3 http://127.0.0.1:2379/health | grep -q '"health":"true"' || return 1
      [ "${PGHA_ETCD_FIRST:-0}" != 1 ] || [ -e "$RUN/etcd-auth-ready" ]
      ;;
    pgbouncer) health ;;
    *) die "no health check for role $PGHA_ROLE" ;;
  esac
}

case "${1:-}" in
  patroni) run_patroni ;;
  etcd) run_etcd ;;
  pgbouncer)
    require_version PgBouncer "$(version_of pgbouncer --version)" "$MIN_PGBOUNCER"
    run_pgbouncer
    ;;
  post-bootstrap) post_bootstrap ;;
  apply-bootstrap-sql) apply_bootstrap_sql ;;
  callback) callback "${2:-}" "${3:-}" ;;
  health) patroni_health ;;
  *) die "usage: pgha-patroni patroni|etcd|pgbouncer|health|post-bootstrap|callback ACTION ROLE SCOPE" ;;
esac
