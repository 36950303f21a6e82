#!/usr/bin/env bash
# pgha-node: runs one node of a pgha cluster. Platform-neutral: Docker runs it as the container
# entrypoint, EC2 from a systemd unit. Everything it needs is in /etc/pgha:
#   node.env            PGHA_ROLE, PGHA_NODE, PG_MAJOR, PGDATA; PostgreSQL nodes: PGHA_HOST (its own),
#                       PGHA_PRIMARY_HOST, PGHA_SLOT (its slot as a replica); PgBouncer: PGHA_PRIMARY_HOST,
#                       PGHA_READ_HOSTS, PGHA_DATABASE, PGHA_RO_DATABASE
#   postgresql.conf, pg_hba.conf, bootstrap.sql, pgbouncer.ini (rendered by the Pulumi program)
#   $TOPOLOGY_FILE      written by `npm run failover` / `npm run rejoin` only: the primary (and the
#                       read hosts) after a failover, until the deployment says the same
#   secrets/<name>.password  one value per file (a SCRAM verifier or a password), root-only; or
#   PGHA_SECRET_<NAME> environment variables, which are moved into those files and unset at start
#   /etc/pgbackrest/pgbackrest.conf (when backups are on), with secrets/s3_key(_secret).password
# Usage: pgha-node primary | replica | pgbouncer | reconcile-slots | backup-scheduler | backup-server
#        | restore | backup [full|diff|incr|auto] | health | promote | follow
# `primary` and `replica` run a PostgreSQL node in the role the topology gives it (see load_topology).
set -euo pipefail

PGHA_ETC=${PGHA_ETC:-/etc/pgha}
# shellcheck source=/dev/null
. "$PGHA_ETC/node.env"
SECRETS="$PGHA_ETC/secrets"
RUN=/run/pgha
# On the data volume, beside PGDATA (never inside it: pg_basebackup and pg_rewind copy PGDATA).
DATA_ROOT=$(dirname "$PGDATA")
TOPOLOGY_FILE=${PGHA_TOPOLOGY_FILE:-$DATA_ROOT/pgha-topology.env}
# A PostgreSQL node whose data directory is complete (initdb'd or cloned); `pgha-reclone` asks for a new clone.
DATA_READY=$DATA_ROOT/pgha-data-ready
RECLONE_REQUEST=$DATA_ROOT/pgha-reclone
DEPLOYED_PRIMARY_HOST=${PGHA_PRIMARY_HOST:-}
PGBIN="/usr/lib/postgresql/$PG_MAJOR/bin"
export PATH="$PGBIN:$PATH"

log() { printf '%s pgha-node[%s]: %s\n' "$(date -u +%FT%TZ)" "$PGHA_NODE" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# After a failover the tool records the new primary (and PgBouncer's read hosts) in
# $TOPOLOGY_FILE; it wins over node.env until a deployment agrees with it (the tool also sets
# pgha:primaryNode), then it is removed. A node is the primary when the primary host is its own.
load_topology() {
  [ -e "$TOPOLOGY_FILE" ] || return 0
  local recorded read_hosts
  recorded=$(sed -n 's/^PGHA_PRIMARY_HOST=\([A-Za-z0-9_.:-]*\)$/\1/p' "$TOPOLOGY_FILE" | tail -n 1)
  read_hosts=$(sed -n 's/^PGHA_READ_HOSTS=\([A-Za-z0-9_.: -]*\)$/\1/p' "$TOPOLOGY_FILE" | tail -n 1)
  if [ -z "$recorded" ]; then
    log "ignoring $TOPOLOGY_FILE: it names no valid PGHA_PRIMARY_HOST"
  elif [ "$recorded" = "$DEPLOYED_PRIMARY_HOST" ]; then
    rm -f "$TOPOLOGY_FILE"
  else
    # Said once per start (PgBouncer's routing loop reads the file every second).
    if [ "$(cat "$RUN/topology.seen" 2>/dev/null)" != "$recorded" ]; then
      log "primary is $recorded, as recorded by a failover (the deployment says $DEPLOYED_PRIMARY_HOST until pgha:primaryNode follows)"
      echo "$recorded" >"$RUN/topology.seen" 2>/dev/null || true
    fi
    PGHA_PRIMARY_HOST=$recorded
    PGHA_READ_HOSTS=$read_hosts
  fi
}

effective_role() {
  if [ "$PGHA_PRIMARY_HOST" = "${PGHA_HOST:-}" ]; then echo primary; else echo replica; fi
}

# Runs a command as the postgres OS user (the node starts as root to prepare directories).
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql "$@"
  else
    "$@"
  fi
}

# Reads secret $2 into the variable named $1; stops the node naming the secret (never its value)
# when it is missing, empty, or has what could break out of a quoted config or SQL literal.
# Never call it inside $(...): a die there would end only the subshell.
secret_to() {
  local file="$SECRETS/$2.password" value
  [ -r "$file" ] || die "secret $2 is missing ($file)"
  value=$(cat "$file")
  [ -n "$value" ] || die "secret $2 is empty"
  # shellcheck disable=SC1003 # '\' is the one-character pattern "a backslash", not an escape
  case "$value" in *"'"* | *'\'* | *'"'* | *$'\n'*) die "secret $2 is refused: it has a quote, backslash or newline" ;; esac
  printf -v "$1" '%s' "$value"
}

# Moves PGHA_SECRET_* variables into root-only files, so no child process inherits them.
materialize_secrets() {
  install -d -m 0700 "$SECRETS"
  local var name
  for var in $(compgen -e); do
    case "$var" in
      PGHA_SECRET_*)
        name=${var#PGHA_SECRET_}
        (umask 077; printf '%s' "${!var}" >"$SECRETS/${name,,}.password")
        unset "$var"
        ;;
    esac
  done
}

# pgBackRest reads the repository's shared S3 key from its include directory, readable by postgres only.
write_pgbackrest_credentials() {
  [ -e "$SECRETS/s3_key.password" ] || return 0
  local key key_secret
  secret_to key s3_key
  secret_to key_secret s3_key_secret
  install -d -o postgres -g postgres -m 0750 /etc/pgbackrest/conf.d
  printf '[global]\nrepo1-s3-key=%s\nrepo1-s3-key-secret=%s\n' "$key" "$key_secret" \
    | write_private /etc/pgbackrest/conf.d/credentials.conf
}

# pgBackRest's TLS keys (backups from a replica), from secrets to where pgbackrest.conf names them.
write_pgbackrest_tls_keys() {
  local name
  for name in server client; do
    [ -e "$SECRETS/pgbackrest_${name}_key.password" ] || continue
    [ -s "$SECRETS/pgbackrest_${name}_key.password" ] || die "secret pgbackrest_${name}_key is empty"
    install -d -o postgres -g postgres -m 0750 /etc/pgbackrest/tls
    write_private "/etc/pgbackrest/tls/$name.key" <"$SECRETS/pgbackrest_${name}_key.password"
  done
}

prepare() {
  materialize_secrets
  install -d -o postgres -g postgres -m 0700 "$RUN"
  write_pgbackrest_credentials
  write_pgbackrest_tls_keys
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  install -d -o postgres -g postgres -m 0700 "$(dirname "$PGDATA")"
}

# Writes a postgres-owned 0600 file from stdin.
write_private() {
  local target=$1
  (umask 077; cat >"$target.tmp")
  chown postgres:postgres "$target.tmp"
  mv "$target.tmp" "$target"
}

# The bootstrap SQL's psql variables (SCRAM verifiers of superuser, replicator, app, pgbouncer_auth,
# monitor, in that order), in a file only postgres reads.
write_bootstrap_vars() {
  printf "\\\\set %s_password '%s'\n" superuser "$1" replicator "$2" app "$3" pgbouncer_auth "$4" \
    monitor "$5" | write_private "$RUN/bootstrap-vars.sql"
}

# PGDATA/postgresql.conf only includes the rendered file, so a base backup carries no node identity.
link_config() {
  echo "include '$PGHA_ETC/postgresql.conf'" | as_pg tee "$PGDATA/postgresql.conf" >/dev/null
}

run_primary() {
  prepare
  # Every secret first: a node missing one stops before it touches its data directory.
  local superuser replicator app pgbouncer_auth monitor
  secret_to superuser superuser_verifier
  secret_to replicator replicator_verifier
  secret_to app app_verifier
  secret_to pgbouncer_auth pgbouncer_auth_verifier
  secret_to monitor monitor_verifier
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    log "initialising a new cluster in $PGDATA"
    install -d -o postgres -g postgres -m 0700 "$PGDATA"
    as_pg initdb -D "$PGDATA" --username=postgres --auth-local=peer --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 --data-checksums >/dev/null
  fi
  touch "$DATA_READY"
  link_config
  rm -f "$PGDATA/standby.signal" "$RUN/upstream.conf"

  # Roles, database and functions, applied on a socket-only server so nothing connects meanwhile.
  # synchronous_standby_names is cleared there: no replica is connected yet to acknowledge.
  write_bootstrap_vars "$superuser" "$replicator" "$app" "$pgbouncer_auth" "$monitor"
  as_pg pg_ctl -D "$PGDATA" -w -t 300 -l "$RUN/bootstrap.log" \
    -o "-c listen_addresses='' -c synchronous_standby_names=''" start >/dev/null \
    || { cat "$RUN/bootstrap.log" >&2; die "bootstrap server did not start"; }
  as_pg psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$RUN/bootstrap-vars.sql" -f "$PGHA_ETC/bootstrap.sql" \
    || { as_pg pg_ctl -D "$PGDATA" -m fast -w stop; die "bootstrap.sql failed"; }
  rm -f "$RUN/bootstrap-vars.sql"
  as_pg pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  log "starting primary"
  exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql postgres -D "$PGDATA"
}

wait_for_primary() {
  log "waiting for the primary $PGHA_PRIMARY_HOST"
  for i in $(seq 1 300); do
    as_pg pg_isready -q -h "$PGHA_PRIMARY_HOST" -p 5432 -t 2 && return 0
    [ "$i" = 300 ] && die "primary $PGHA_PRIMARY_HOST not ready after 300 s"
    sleep 1
  done
}

# psql on the primary's postgres database as the replicator (which may manage slots), no prompt.
replicator_psql() {
  as_pg env PGPASSFILE="$RUN/pgpass" psql -X -q -v ON_ERROR_STOP=1 -tA \
    "host=$PGHA_PRIMARY_HOST port=5432 user=replicator dbname=postgres connect_timeout=5" "$@"
}

# Makes sure this node's slot exists on the primary and can still serve it: a slot that lost its
# WAL (max_slot_wal_keep_size) is dropped and created again, which a re-clone needs.
ensure_slot() {
  replicator_psql -v slot="$PGHA_SLOT" <<'EOF'
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
 WHERE slot_name = :'slot' AND NOT active AND (wal_status = 'lost' OR restart_lsn IS NULL);
SELECT pg_create_physical_replication_slot(:'slot', true)
 WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = :'slot');
EOF
}

clone() {
  rm -rf "$PGDATA" "$DATA_READY"
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  wait_for_primary
  ensure_slot >/dev/null || die "could not create slot $PGHA_SLOT on $PGHA_PRIMARY_HOST"
  log "cloning from $PGHA_PRIMARY_HOST with slot $PGHA_SLOT"
  as_pg env PGPASSFILE="$RUN/pgpass" pg_basebackup -h "$PGHA_PRIMARY_HOST" -p 5432 -U replicator -w \
    -D "$PGDATA" -X stream -S "$PGHA_SLOT" --checkpoint=fast \
    || { rm -rf "$PGDATA"; die "pg_basebackup failed"; }
  touch "$DATA_READY"
  rm -f "$RECLONE_REQUEST"
}

# A data directory last run as a primary (after a failover or switchover) has to give up what the
# new primary never received before it can follow it: pg_rewind, or a new clone if that fails.
rewind_if_needed() {
  local state
  state=$(as_pg pg_controldata "$PGDATA" | sed -n 's/^Database cluster state: *//p')
  case "$state" in "shut down in recovery" | "in archive recovery") return 0 ;; esac
  log "the data directory was a primary's ($state): rewinding it to follow $PGHA_PRIMARY_HOST"
  wait_for_primary
  ensure_slot >/dev/null || die "could not create slot $PGHA_SLOT on $PGHA_PRIMARY_HOST"
  # A just-promoted primary names its new timeline in its control file only after a checkpoint;
  # without one pg_rewind sees "the same timeline" and rewinds nothing.
  replicator_psql -c CHECKPOINT >/dev/null || log "could not CHECKPOINT $PGHA_PRIMARY_HOST; pg_rewind may see an old timeline"
  if as_pg env PGPASSFILE="$RUN/pgpass" pg_rewind --target-pgdata="$PGDATA" \
    --source-server="host=$PGHA_PRIMARY_HOST port=5432 user=replicator dbname=postgres connect_timeout=5" >&2; then
    log "pg_rewind done"
  else
    log "pg_rewind failed: cloning again"
    clone
  fi
}

# The replica's upstream, included by postgresql.conf; reloadable, so a failover re-points a running replica.
write_upstream() {
  write_private "$RUN/upstream.conf" <<EOF
primary_conninfo = 'host=$PGHA_PRIMARY_HOST port=5432 user=replicator passfile=$RUN/pgpass application_name=$PGHA_NODE connect_timeout=5 keepalives_idle=10'
primary_slot_name = '$PGHA_SLOT'
EOF
}

run_replica() {
  prepare
  local password
  secret_to password replicator
  printf '*:*:*:replicator:%s\n' "$password" | write_private "$RUN/pgpass"
  if [ -e "$RECLONE_REQUEST" ]; then
    log "a re-clone was requested"
    rm -f "$DATA_READY" "$PGDATA/.pgha-cloned"
  fi
  # A node whose data is complete keeps it: a restart resumes streaming from its slot.
  # (.pgha-cloned marked complete clones before pgha-data-ready existed.)
  if [ -e "$DATA_READY" ] || [ -e "$PGDATA/.pgha-cloned" ]; then
    rewind_if_needed
  else
    clone
  fi
  touch "$DATA_READY"
  link_config
  write_upstream
  as_pg touch "$PGDATA/standby.signal"
  local floor
  floor=$(standby_setting_floor)
  log "starting replica, streaming from $PGHA_PRIMARY_HOST"
  # shellcheck disable=SC2086 # $floor is a list of -c options
  exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql postgres -D "$PGDATA" $floor
}

# Promotes this replica (run by `npm run failover` after it recorded this node as the primary).
promote_node() {
  load_topology
  [ "$(effective_role)" = primary ] || die "the recorded topology does not make this node the primary; refusing to promote"
  if [ "$(as_pg psql -X -tAq -d postgres -c 'SELECT pg_is_in_recovery()')" = t ]; then
    as_pg pg_ctl -D "$PGDATA" -w -t 120 promote >&2
  fi
  # The control file names the new timeline after a checkpoint: pg_rewind of the old primary needs it.
  as_pg psql -X -q -d postgres -c CHECKPOINT
  rm -f "$RUN/upstream.conf"
  as_pg pg_ctl -D "$PGDATA" reload >/dev/null
  log "promoted: this node is the primary"
}

# Applies the recorded topology to a running node: a replica re-points its upstream (PostgreSQL
# follows the new timeline), PgBouncer re-routes at its next check (within a second).
follow_topology() {
  load_topology
  case "$PGHA_ROLE" in
    pgbouncer) log "routing to primary $PGHA_PRIMARY_HOST" ;;
    *)
      [ "$(effective_role)" = replica ] || die "the recorded topology makes this node the primary: use promote"
      write_upstream
      as_pg pg_ctl -D "$PGDATA" reload >/dev/null
      log "now streaming from $PGHA_PRIMARY_HOST"
      ;;
  esac
}

# PostgreSQL refuses to run a standby whose max_connections (and four other settings) are lower
# than the primary's it last replayed. When such a setting is lowered, the primary restarts first;
# until a replica has replayed that change, it keeps the recorded value (it applies the lower one at
# its next restart). Prints -c options for the settings that must stay higher for now.
standby_setting_floor() {
  local name key recorded configured
  while read -r name key; do
    recorded=$(as_pg pg_controldata "$PGDATA" | sed -n "s/^$key setting: *//p")
    configured=$(as_pg postgres -D "$PGDATA" -C "$name")
    if [ -n "$recorded" ] && [ "$configured" -lt "$recorded" ]; then
      log "$name $configured is below the primary's last replayed $recorded: starting with $recorded for now"
      printf -- ' -c %s=%s' "$name" "$recorded"
    fi
  done <<'EOF'
max_connections max_connections
max_worker_processes max_worker_processes
max_wal_senders max_wal_senders
max_prepared_transactions max_prepared_xacts
max_locks_per_transaction max_locks_per_xact
EOF
}

# Whether a replica streams right now (as the monitor, bounded: a hung host counts as down).
replica_streams() {
  timeout 3 setpriv --reuid=postgres --regid=postgres --init-groups env PGPASSFILE="$RUN/monitor.pgpass" \
    psql -X -tAq "host=$1 port=${PGHA_POSTGRES_PORT:-5432} user=pgha_monitor dbname=postgres connect_timeout=2" \
    -c "SELECT pg_is_in_recovery() AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')" 2>/dev/null | grep -qx t
}

# Writes PgBouncer's [databases]: read-write to the primary; read-only round-robin over the
# replicas that stream (PgBouncer would keep sending clients to a dead host of a list), or to the
# primary, read-only by default, while none does; any other database (postgres, a framework's
# test database) to the primary. Prints "changed" when the file changed.
route_pgbouncer() {
  load_topology
  local host probes=() streaming=() read_hosts ro_extra=""
  for host in $PGHA_READ_HOSTS; do
    (replica_streams "$host" && touch "$RUN/streams.$host") &
    probes+=($!)
  done
  [ "${#probes[@]}" = 0 ] || wait "${probes[@]}" || true
  for host in $PGHA_READ_HOSTS; do
    [ -e "$RUN/streams.$host" ] && streaming+=("$host")
    rm -f "$RUN/streams.$host"
  done
  if [ "${#streaming[@]}" -gt 0 ]; then
    read_hosts=$(IFS=,; echo "${streaming[*]}")
  else
    read_hosts=$PGHA_PRIMARY_HOST
    ro_extra=" connect_query='SET default_transaction_read_only = on'"
  fi
  cat >"$RUN/pgbouncer-databases.ini.new" <<EOF
[databases]
$PGHA_DATABASE = host=$PGHA_PRIMARY_HOST port=${PGHA_POSTGRES_PORT:-5432} dbname=$PGHA_DATABASE
$PGHA_RO_DATABASE = host=$read_hosts port=${PGHA_POSTGRES_PORT:-5432} dbname=$PGHA_DATABASE$ro_extra
* = host=$PGHA_PRIMARY_HOST port=${PGHA_POSTGRES_PORT:-5432}
EOF
  if cmp -s "$RUN/pgbouncer-databases.ini.new" "$RUN/pgbouncer-databases.ini"; then
    rm -f "$RUN/pgbouncer-databases.ini.new"
  else
    chown postgres:postgres "$RUN/pgbouncer-databases.ini.new"
    mv "$RUN/pgbouncer-databases.ini.new" "$RUN/pgbouncer-databases.ini"
    log "routing: read-write to $PGHA_PRIMARY_HOST, read-only to $read_hosts"
    echo changed
  fi
}

# Frameworks create and drop their test databases through PgBouncer (its fallback entry). PgBouncer
# keeps a pool's idle server connections, and DROP DATABASE waits only 5 s for other sessions to
# go: so the idle server connections of any database outside the application's entries that no
# client uses are closed (RECONNECT, on PgBouncer's admin console as its auth user).
release_idle_pools() {
  # Best effort, never fatal to the routing loop: the console may not answer yet (PgBouncer just
  # started) or be busy. Fields split on the ASCII unit separator, so a database name may hold
  # spaces or punctuation; RECONNECT takes it as a quoted identifier (embedded quotes doubled).
  local sep=$'\x1f' pools db
  pools=$(PGPASSFILE="$RUN/admin.pgpass" psql -X -A -F "$sep" -h 127.0.0.1 -p 6432 -U pgbouncer_auth \
    -d pgbouncer -c 'SHOW POOLS' 2>/dev/null) || return 0
  printf '%s\n' "$pools" \
    | awk -F "$sep" -v app="$PGHA_DATABASE" -v ro="$PGHA_RO_DATABASE" '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        col["database"] && NF > 1 && $col["database"] != "pgbouncer" &&
          $col["database"] != app && $col["database"] != ro && $col["cl_active"] == 0 &&
          $col["cl_waiting"] == 0 && $col["sv_idle"] + $col["sv_used"] > 0 { print $col["database"] }' \
    | sort -u | while IFS= read -r db; do
      PGPASSFILE="$RUN/admin.pgpass" psql -X -q -h 127.0.0.1 -p 6432 -U pgbouncer_auth -d pgbouncer \
        -c "RECONNECT \"${db//\"/\"\"}\"" >/dev/null 2>&1 || true
    done
  return 0
}

run_pgbouncer() {
  prepare
  local auth_password monitor_password
  secret_to auth_password pgbouncer_auth
  secret_to monitor_password monitor
  printf '"pgbouncer_auth" "%s"\n' "$auth_password" | write_private "$RUN/userlist.txt"
  printf '*:*:*:pgha_monitor:%s\n' "$monitor_password" | write_private "$RUN/monitor.pgpass"
  printf '127.0.0.1:6432:pgbouncer:pgbouncer_auth:%s\n' "$auth_password" | write_private "$RUN/admin.pgpass"
  route_pgbouncer >/dev/null
  log "starting pgbouncer"
  setpriv --reuid=postgres --regid=postgres --init-groups pgbouncer "$PGHA_ETC/pgbouncer.ini" &
  PGBOUNCER_PID=$!
  trap 'kill -TERM "$PGBOUNCER_PID" 2>/dev/null' INT TERM
  # Every second: re-route when a replica stops or starts streaming, or a failover moved the primary.
  while kill -0 "$PGBOUNCER_PID" 2>/dev/null; do
    if [ "$(route_pgbouncer)" = changed ]; then
      kill -HUP "$PGBOUNCER_PID" 2>/dev/null || true
    fi
    release_idle_pools
    sleep 1
  done
  wait "$PGBOUNCER_PID"
}

# Makes the primary's pgha_ slots exactly PGHA_EXPECTED_SLOTS: creates the missing ones (WAL
# reserved at once, so a new replica's clone finds it) and drops the others, ending the walsender
# that still holds one. Runs as the replicator, which may manage slots and end its own sessions.
reconcile_slots() {
  materialize_secrets
  local password
  secret_to password replicator
  printf '%s:5432:postgres:replicator:%s\n' "$PGHA_PRIMARY_HOST" "$password" >"/tmp/pgpass"
  chmod 0600 /tmp/pgpass
  export PGPASSFILE=/tmp/pgpass
  local expected="{${PGHA_EXPECTED_SLOTS// /,}}"
  for i in $(seq 1 120); do
    pg_isready -q -h "$PGHA_PRIMARY_HOST" -p 5432 -t 2 && break
    [ "$i" = 120 ] && die "primary $PGHA_PRIMARY_HOST not ready after 120 s"
    sleep 1
  done
  psql -X -q -v ON_ERROR_STOP=1 -h "$PGHA_PRIMARY_HOST" -U replicator -d postgres -v expected="$expected" <<'EOF'
SELECT set_config('pgha.expected_slots', :'expected', false) AS expected_slots \gset
SELECT count(*) AS created FROM (
  SELECT pg_create_physical_replication_slot(name, true)
  FROM unnest(:'expected'::text[]) AS name
  WHERE name <> '' AND name NOT IN (SELECT slot_name FROM pg_replication_slots)
) s \gset
\echo slots created: :created
-- A removed replica still streams until its container goes: end its walsender and drop the
-- slot in the moment before it reconnects, retrying on "slot is active".
DO $$
DECLARE
  s record;
  attempt int;
BEGIN
  FOR s IN SELECT slot_name FROM pg_replication_slots
           WHERE slot_name LIKE 'pgha\_%' AND slot_name <> ALL (current_setting('pgha.expected_slots')::text[]) LOOP
    FOR attempt IN 1..300 LOOP
      BEGIN
        PERFORM pg_terminate_backend(active_pid, 1000) FROM pg_replication_slots
          WHERE slot_name = s.slot_name AND active_pid IS NOT NULL;
        PERFORM pg_drop_replication_slot(s.slot_name);
        RAISE NOTICE 'slot dropped: %', s.slot_name;
        EXIT;
      EXCEPTION WHEN object_in_use THEN
        IF attempt = 300 THEN
          RAISE;
        END IF;
        PERFORM pg_sleep(0.01);
      END;
    END LOOP;
  END LOOP;
END $$;
EOF
  rm -f /tmp/pgpass
}

# ---- backups -------------------------------------------------------------------------------

# psql on the primary's socket (shared with the backup container), as postgres.
primary_psql() {
  as_pg psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -d "$PGHA_DATABASE" "$@"
}

# The local S3 server starts empty; pgBackRest does not create buckets.
create_bucket() {
  local conf=/etc/pgbackrest/pgbackrest.conf creds=/etc/pgbackrest/conf.d/credentials.conf
  local host port bucket region key secret ca
  host=$(sed -n 's/^repo1-s3-endpoint=//p' "$conf"); port=$(sed -n 's/^repo1-storage-port=//p' "$conf")
  bucket=$(sed -n 's/^repo1-s3-bucket=//p' "$conf"); region=$(sed -n 's/^repo1-s3-region=//p' "$conf")
  ca=$(sed -n 's/^repo1-storage-ca-file=//p' "$conf")
  key=$(sed -n 's/^repo1-s3-key=//p' "$creds"); secret=$(sed -n 's/^repo1-s3-key-secret=//p' "$creds")
  local code
  # The signed payload hash of an empty body, which S3 requires as a header.
  code=$(curl -sS -o /dev/null -w '%{http_code}' ${ca:+--cacert "$ca"} --aws-sigv4 "aws:amz:$region:s3" \
    --user "$key:$secret" -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" \
    -X PUT "https://$host:$port/$bucket") || return 1
  case "$code" in 200 | 409) return 0 ;; *) log "creating bucket $bucket: HTTP $code"; return 1 ;; esac
}

# Records one backup run in pgha.backup_runs on the primary, so every node and the checks see it.
record_run() {
  primary_psql -v type="$1" -v started="$2" -v ok="$3" -v label="$4" -v detail="$5" <<'EOF' || log "could not record the backup run"
INSERT INTO pgha.backup_runs (backup_type, started_at, ok, label, detail)
VALUES (:'type', :'started', :'ok', NULLIF(:'label', ''), NULLIF(:'detail', ''));
DELETE FROM pgha.backup_runs WHERE finished_at < now() - interval '90 days';
EOF
}

# full when no full backup succeeded within the interval, differential otherwise.
backup_type_due() {
  local recent_full
  recent_full=$(primary_psql -tA -c "SELECT count(*) FROM pgha.backup_runs WHERE ok AND backup_type = 'full'
    AND finished_at > now() - make_interval(days => ${PGHA_BACKUP_FULL_INTERVAL_DAYS})")
  if [ "${recent_full:-0}" = 0 ]; then echo full; else echo diff; fi
}

# One pgBackRest backup into $RUN/backup.log, shown without its per-file lines, then where the
# copied files came from: "local" (this node's data directory) or a replica's pgBackRest server.
pgbackrest_backup() {
  local rc=0
  as_pg pgbackrest --stanza=main --log-level-console=detail "$@" backup >"$RUN/backup.log" 2>&1 || rc=$?
  grep -v 'DETAIL: \(backup\|match\) file' "$RUN/backup.log" >&2 || true
  sed -n 's/.*DETAIL: backup file \([^ /:]*\):\{0,1\}\/.*/\1/p' "$RUN/backup.log" | sed 's/^$/local/' | sort | uniq -c \
    | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " } END { if (NR) print "" }' | sed 's/^/files copied from: /' \
    | while read -r line; do log "$line"; done
  return "$rc"
}

# Takes a backup now; exit status is pgBackRest's. Usage: run_backup full|diff|incr|auto
# With backups from a replica configured and no replica streaming, pgBackRest refuses; the backup
# is then taken from the primary (said in the log), so backups never stop for want of a replica.
run_backup() {
  local type=${1:-auto} started rc=0 label
  if [ "$type" = auto ]; then type=$(backup_type_due) || die "could not read the last backups from the primary"; fi
  # A manual run (SSM on EC2) may come before anything installed the client key.
  write_pgbackrest_tls_keys
  started=$(date -u +%FT%T.%3NZ)
  log "backup ($type) starting"
  pgbackrest_backup --type="$type" || rc=$?
  if [ "$rc" != 0 ] && grep -q '^backup-standby=y' /etc/pgbackrest/pgbackrest.conf && grep -q 'ERROR.*standby' "$RUN/backup.log"; then
    log "no replica could serve the backup: taking it from the primary"
    # Without the replicas' servers in the config, the retry does not wait for them again.
    sed '/^pg[0-9]*-/{/^pg1-/!d}; /^backup-standby=/d' /etc/pgbackrest/pgbackrest.conf >"$RUN/pgbackrest-primary.conf"
    rc=0
    pgbackrest_backup --type="$type" --config="$RUN/pgbackrest-primary.conf" --config-include-path=/etc/pgbackrest/conf.d || rc=$?
  fi
  label=$(sed -n 's/.*new backup label = \([0-9A-Z_-]*\).*/\1/p' "$RUN/backup.log" | tail -n 1)
  if [ "$rc" = 0 ]; then
    echo ok >"$RUN/last-backup-status"
    log "backup ($type) $label finished"
    record_run "$type" "$started" true "$label" ""
  else
    echo failed >"$RUN/last-backup-status"
    log "ERROR: backup ($type) failed with exit $rc"
    record_run "$type" "$started" false "" "$(grep -m 1 ERROR "$RUN/backup.log" | cut -c 1-500)"
  fi
  return "$rc"
}

run_backup_scheduler() {
  prepare
  log "waiting for the primary's socket"
  until as_pg pg_isready -q -h /var/run/postgresql -t 2; do sleep 1; done
  if [ "${PGHA_S3_CREATE_BUCKET:-0}" = 1 ]; then
    until create_bucket; do log "bucket not created yet; retrying in 5 s"; sleep 5; done
  fi
  until as_pg pgbackrest --stanza=main stanza-create; do log "stanza-create failed; retrying in 10 s"; sleep 10; done
  as_pg pgbackrest --stanza=main check || log "ERROR: pgbackrest check failed: WAL archiving is not working"
  touch "$RUN/scheduler-ready"
  local interval=$((PGHA_BACKUP_INTERVAL_HOURS * 3600)) last
  log "scheduler ready: a backup every $PGHA_BACKUP_INTERVAL_HOURS h, full every $PGHA_BACKUP_FULL_INTERVAL_DAYS d"
  # As PID 1 the shell ignores SIGINT (Docker's stop signal) unless trapped; the sleep runs in the
  # background so the trap fires at once instead of after it: a stop takes no 60 s timeout.
  trap 'log "stopping"; exit 0' INT TERM
  while true; do
    last=$(primary_psql -tA -c "SELECT coalesce(extract(epoch FROM max(finished_at))::bigint, 0) FROM pgha.backup_runs WHERE ok" 2>/dev/null || echo "")
    if [ -n "$last" ] && [ $(($(date +%s) - last)) -ge "$interval" ]; then
      run_backup auto || true
    fi
    sleep 60 &
    wait $! || true
  done
}

# EC2's backup timer runs this on every PostgreSQL node: only the node that is the primary right now
# acts, so backups go on after a failover. Creates the stanza (idempotent), then takes a backup when
# the last good one in pgha.backup_runs is PGHA_BACKUP_INTERVAL_HOURS old (full or diff by `auto`).
run_scheduled_backup() {
  prepare
  local i last
  for i in $(seq 1 24); do
    as_pg pg_isready -q -h /var/run/postgresql -t 2 && break
    if [ "$i" = 24 ]; then log "PostgreSQL does not accept connections on this node: no backup here"; return 0; fi
    sleep 5
  done
  if [ "$(as_pg psql -X -tAq -h /var/run/postgresql -d postgres -c 'SELECT pg_is_in_recovery()')" != f ]; then
    log "this node is not the primary: no backup here"
    return 0
  fi
  log "this node is the primary: creating the stanza if needed"
  as_pg pgbackrest --stanza=main stanza-create || die "stanza-create failed"
  last=$(primary_psql -tA -c "SELECT coalesce(extract(epoch FROM max(finished_at))::bigint, 0) FROM pgha.backup_runs WHERE ok")
  if [ $(($(date +%s) - last)) -lt $((PGHA_BACKUP_INTERVAL_HOURS * 3600)) ]; then
    log "the last backup is less than $PGHA_BACKUP_INTERVAL_HOURS h old: none due"
    return 0
  fi
  run_backup auto
}

# A pgBackRest TLS server beside a node (its data volume and socket), for backups from a replica.
run_backup_server() {
  prepare
  log "pgBackRest TLS server on port $(sed -n 's/^tls-server-port=//p' /etc/pgbackrest/pgbackrest.conf)"
  exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql pgbackrest server
}

run_restore() {
  prepare
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    install -d -o postgres -g postgres -m 0700 "$PGDATA"
    local target=()
    if [ -n "${PGHA_RESTORE_TARGET_TIME:-}" ]; then
      target=(--type=time "--target=$PGHA_RESTORE_TARGET_TIME" --target-action=promote)
      log "restoring to $PGHA_RESTORE_TARGET_TIME"
    else
      log "restoring the latest state"
    fi
    as_pg pgbackrest --stanza=main --archive-mode=off "${target[@]}" restore || die "pgbackrest restore failed"
  fi
  link_config
  log "starting the restored server"
  exec setpriv --reuid=postgres --regid=postgres --init-groups env HOME=/var/lib/postgresql postgres -D "$PGDATA"
}

health() {
  local role=$PGHA_ROLE
  case "$role" in primary | replica) load_topology; role=$(effective_role) ;; esac
  case "$role" in
    primary) [ "$(as_pg psql -X -tAq -d postgres -c 'SELECT pg_is_in_recovery()')" = f ] ;;
    replica) [ "$(as_pg psql -X -tAq -d postgres -c 'SELECT pg_is_in_recovery()')" = t ] ;;
    restore) [ "$(as_pg psql -X -tAq -d postgres -c 'SELECT pg_is_in_recovery()')" = f ] ;;
    # Its admin console as a user of its auth_file, which gets the password request at once
    # (pg_isready stops there). A user it must look up by auth_query (the default, root) made
    # PgBouncer 1.18 ask the primary for a database "root" and never answer within the timeout.
    pgbouncer) pg_isready -q -h 127.0.0.1 -p 6432 -d pgbouncer -U pgbouncer_auth -t 2 ;;
    backup-server) as_pg pgbackrest server-ping localhost ;;
    backup-scheduler) [ -e "$RUN/scheduler-ready" ] && [ "$(cat "$RUN/last-backup-status" 2>/dev/null)" != failed ] ;;
    *) die "no health check for role $role" ;;
  esac
}

# Sourced (by pgha-patroni) for its functions only.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
case "${1:-}" in
  primary | replica)
    load_topology
    if [ "$(effective_role)" = primary ]; then run_primary; else run_replica; fi
    ;;
  promote) promote_node ;;
  follow) follow_topology ;;
  pgbouncer) run_pgbouncer ;;
  reconcile-slots) reconcile_slots ;;
  backup-scheduler) run_backup_scheduler ;;
  backup) run_backup "${2:-auto}" ;;
  backup-server) run_backup_server ;;
  scheduled-backup) run_scheduled_backup ;;
  restore) run_restore ;;
  health) health ;;
  *) die "usage: pgha-node primary|replica|pgbouncer|reconcile-slots|backup-scheduler|backup-server|backup [type]|restore|health|promote|follow" ;;
esac
