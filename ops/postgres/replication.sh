#!/bin/sh
# Runs once, when the postgres service initializes its data folder: lets the streaming replica of the
# scale profile (postgres-replica) connect for replication as the replicator role.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD:-replicator}'"
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
