#!/bin/sh
# The container image's entrypoint: the first argument picks the process this container runs.
#
#   engine | gateway | shipping-agent | fake-carrier      the four long-running roles
#   token [--sub alice] [--admin]                          print a JWT signed with JWT_SECRET
#   replay-dead-letters [--list] [--sale demo]            put dead-lettered shipments back
#   anything else                                          run as given (e.g. `sh`)
#
# Settings come from the environment, with the names `npm start` uses (docs/operations.md).
# For the long-running roles it writes the URL the image's HEALTHCHECK asks into
# $HEALTH_URL_FILE, so one HEALTHCHECK line serves every role.
set -eu

HEALTH_URL_FILE=/tmp/flashsale-health-url

health_url() {
  printf '%s\n' "$1" >"$HEALTH_URL_FILE"
}

# The WAL lock (wal/lock.ts) names the pid and host of its writer, and a new engine takes it over
# only when that pid is gone. In a container the engine runs as the same pid (1) on every start
# and the hostname stays the container's, so after a SIGKILL or an OOM kill the restarted engine
# would find "its own" pid alive and refuse the directory for ever. A lock naming this host and
# this very pid cannot be a live writer: this shell is that pid and `exec`s into the engine, which
# has not opened the WAL yet. Only such a lock is removed; any other stays for the engine to judge.
release_own_stale_wal_lock() {
  node -e '
    const { readFileSync, unlinkSync } = require("node:fs");
    const { hostname } = require("node:os");
    const { join, resolve } = require("node:path");
    const file = join(resolve(process.env.WAL_DIR || "./data/wal"), "wal.lock");
    let owner;
    try {
      owner = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      process.exit(0); // no lock (or one the engine will report on itself)
    }
    if (owner.pid === Number(process.argv[1]) && owner.hostname === hostname()) {
      unlinkSync(file);
      console.error(
        `removed ${file}: it names pid ${owner.pid} on ${owner.hostname}, which is this ` +
          "container engine before its restart (since " + owner.startedAt + ")",
      );
    }
  ' "$$"
}

role="${1:-gateway}"
if [ "$#" -gt 0 ]; then shift; fi

case "$role" in
  engine)
    # Healthy = serving every sale it was given; a standby answers 503 {"state":"standby"}.
    health_url "http://127.0.0.1:${ENGINE_METRICS_PORT:-9464}/health"
    release_own_stale_wal_lock
    exec node dist/engine/main.js "$@"
    ;;
  gateway)
    health_url "http://127.0.0.1:${PORT:-3000}/health/ready"
    exec node dist/gateway/main.js "$@"
    ;;
  shipping-agent)
    health_url "http://127.0.0.1:${AGENT_METRICS_PORT:-9465}/metrics"
    exec node dist/shipping-agent/main.js "$@"
    ;;
  fake-carrier)
    # In a container the carrier must be reachable from the agents, not only from itself.
    export CARRIER_HOST="${CARRIER_HOST:-0.0.0.0}"
    health_url "http://127.0.0.1:${CARRIER_PORT:-4000}/health"
    exec node dist/fake-carrier/main.js "$@"
    ;;
  token)
    exec node dist/scripts/token.js "$@"
    ;;
  replay-dead-letters)
    exec node dist/scripts/replay-dead-letters.js "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
