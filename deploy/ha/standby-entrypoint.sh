#!/bin/sh
# A hot standby: on first start a base backup of the primary (-R writes primary_conninfo and
# standby.signal; -C -S keeps a replication slot so the primary holds WAL the standby still needs),
# then PostgreSQL with cluster_name = the name synchronous_standby_names uses.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    export PGPASSWORD="$REPLICATION_PASSWORD"
    until pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -R -X stream -C -S "$STANDBY_NAME" --checkpoint=fast; do
        echo "waiting for the primary to take a base backup"; rm -rf "$PGDATA"/*; sleep 2
    done
    chmod 0700 "$PGDATA"
fi
exec postgres -c cluster_name="$STANDBY_NAME" -c hot_standby=on -c hot_standby_feedback=on
