#!/bin/sh
# The scale profile's streaming replica: the first start copies the primary (pg_basebackup -R writes
# the standby settings), every start runs it as a hot standby following the primary.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h postgres -U postgres -q; do sleep 1; done
  PGPASSWORD="${REPLICATION_PASSWORD:-replicator}" pg_basebackup -h postgres -U replicator -D "$PGDATA" -R -X stream --checkpoint=fast
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
