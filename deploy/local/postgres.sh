#!/usr/bin/env bash
# PostgreSQL for integration tests: use a server on 127.0.0.1:5432 if one answers, otherwise install
# Debian's postgresql and start a cluster; make sure the superuser role tongban/tongban exists.
#   deploy/local/postgres.sh ensure   start if needed, create the role, print the admin URL
#   deploy/local/postgres.sh stop     stop the cluster only if this script started it
#   deploy/local/postgres.sh status   exit 0 when 127.0.0.1:5432 answers
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VAR="${TONGBAN_VAR:-$REPO/var}/postgres"
STARTED="$VAR/started-cluster"   # "<version> <name>" of a cluster this script started
HOST=127.0.0.1
PORT=5432
ROLE=tongban
PASSWORD=tongban
DEFAULT_URL="postgresql://$ROLE:$PASSWORD@$HOST:$PORT/postgres"
ADMIN_URL="${TONGBAN_TEST_PG_ADMIN_URL:-$DEFAULT_URL}"

say() { echo "[postgres] $*"; }
die() { echo "[postgres] $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

# psql as the postgres OS user over the Unix socket (peer authentication), from a directory it can read.
as_postgres_psql() {
  (cd / && as_root runuser -u postgres -- psql -p "$PORT" -X -q -v ON_ERROR_STOP=1 "$@")
}

answers() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$HOST" -p "$PORT" -t 2; }

role_works() {
  PGPASSWORD="$PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -h "$HOST" -p "$PORT" -U "$ROLE" -d postgres \
    -tAc "SELECT rolcreatedb AND rolsuper FROM pg_roles WHERE rolname = current_user" 2>/dev/null | grep -qx t
}

install_postgresql() {
  if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
    return
  fi
  say "installing Debian's postgresql"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

# The cluster that owns port 5432, created if no cluster does: "<version> <name>".
pick_cluster() {
  local found version
  found="$(pg_lsclusters -h 2>/dev/null | awk -v p="$PORT" '$3 == p { print $1, $2; exit }')"
  if [ -n "$found" ]; then echo "$found"; return; fi
  version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  [ -n "$version" ] || die "no PostgreSQL server version found under /usr/lib/postgresql"
  say "creating cluster $version/main on port $PORT" >&2
  as_root pg_createcluster "$version" main --port "$PORT" >/dev/null
  echo "$version main"
}

start_cluster() {
  local cluster version name
  cluster="$(pick_cluster)"
  read -r version name <<< "$cluster"
  say "starting cluster $version/$name"
  # Durability is pointless for throw-away test data; skipping fsync keeps two shared cores free.
  # TONGBAN_PG_DURABLE=1 keeps PostgreSQL's durable defaults (for benchmarks that must pay for them).
  local options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  [ "${TONGBAN_PG_DURABLE:-0}" = 1 ] && options="-c max_connections=200"
  as_root pg_ctlcluster "$version" "$name" start -o "$options" \
    || { tail -n 30 "/var/log/postgresql/postgresql-$version-$name.log" >&2 || true; die "cluster did not start"; }
  mkdir -p "$VAR"
  echo "$version $name" > "$STARTED"
  for _ in $(seq 1 60); do answers && return; sleep 1; done
  die "cluster $version/$name started but $HOST:$PORT does not answer"
}

ensure_role() {
  role_works && return
  say "creating superuser role $ROLE"
  as_postgres_psql -d postgres <<SQL || die "cannot create role $ROLE; set TONGBAN_TEST_PG_ADMIN_URL to a role that may create databases"
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN SUPERUSER CREATEDB PASSWORD '$PASSWORD';
  ELSE
    ALTER ROLE $ROLE LOGIN SUPERUSER CREATEDB PASSWORD '$PASSWORD';
  END IF;
END
\$\$;
SQL
  role_works || die "role $ROLE exists but cannot log in over TCP with its password (check pg_hba.conf)"
}

cmd_ensure() {
  if [ "$ADMIN_URL" != "$DEFAULT_URL" ]; then
    # An external server: the caller manages it, we only check that it answers.
    if command -v pg_isready >/dev/null 2>&1; then
      pg_isready -q -d "$ADMIN_URL" -t 10 || die "TONGBAN_TEST_PG_ADMIN_URL does not answer"
    fi
    say "using external server from TONGBAN_TEST_PG_ADMIN_URL"
    echo "$ADMIN_URL"
    return
  fi
  install_postgresql
  if answers; then
    say "a server answers on $HOST:$PORT; using it"
  else
    start_cluster
  fi
  ensure_role
  say "ready: $DEFAULT_URL"
  echo "$DEFAULT_URL"
}

cmd_stop() {
  if [ ! -f "$STARTED" ]; then
    say "not started by this script; leaving it alone"
    return
  fi
  local version name
  read -r version name < "$STARTED"
  say "stopping cluster $version/$name"
  as_root pg_ctlcluster "$version" "$name" stop -m fast || true
  rm -f "$STARTED"
}

cmd_status() {
  if answers; then say "$HOST:$PORT answers"; else say "$HOST:$PORT does not answer"; exit 3; fi
}

case "${1:-}" in
  ensure|start) cmd_ensure ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 ensure|stop|status" >&2; exit 2 ;;
esac
