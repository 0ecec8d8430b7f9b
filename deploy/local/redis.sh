#!/usr/bin/env bash
# A throw-away Redis on 127.0.0.1:36379 (no persistence): use one that answers there, otherwise
# install Debian's redis-server if missing and start a daemon whose pid file lives under var/.
#   deploy/local/redis.sh ensure   start if needed, print the URL
#   deploy/local/redis.sh stop     stop the server only if this script started it
#   deploy/local/redis.sh status   exit 0 when 127.0.0.1:36379 answers PING
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VAR="${TONGBAN_VAR:-$REPO/var}/redis"
HOST=127.0.0.1
PORT=36379
PIDFILE="$VAR/redis.pid"
URL="redis://$HOST:$PORT/0"

say() { echo "[redis] $*"; }
die() { echo "[redis] $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

answers() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null)" = PONG ]; }

# The pid from our pid file, if that process is a live redis-server (guards against pid reuse).
our_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q redis-server \
    && echo "$pid"
}

install_redis() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return
  say "installing Debian's redis-server"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

cmd_ensure() {
  if [ -n "${TONGBAN_REDIS_URL:-}" ] && [ "$TONGBAN_REDIS_URL" != "$URL" ]; then
    say "TONGBAN_REDIS_URL is external; not starting a local server"
    echo "$TONGBAN_REDIS_URL"
    return
  fi
  install_redis
  if answers; then
    say "a server answers on $HOST:$PORT; using it"
  else
    mkdir -p "$VAR"
    rm -f "$PIDFILE"
    say "starting redis-server on $HOST:$PORT"
    # No RDB snapshots and no AOF: the data is scratch, and disk writes would cost shared CPU.
    redis-server --bind "$HOST" --port "$PORT" --daemonize yes --pidfile "$PIDFILE" \
      --dir "$VAR" --logfile "$VAR/redis.log" --save "" --appendonly no \
      --protected-mode yes --maxmemory 256mb --maxmemory-policy noeviction
    for _ in $(seq 1 50); do answers && break; sleep 0.2; done
    answers || { tail -n 20 "$VAR/redis.log" >&2 || true; die "redis-server did not answer on $HOST:$PORT"; }
  fi
  say "ready: $URL"
  echo "$URL"
}

cmd_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    say "not started by this script; leaving it alone"
    rm -f "$PIDFILE"
    return
  fi
  say "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$PIDFILE"
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
