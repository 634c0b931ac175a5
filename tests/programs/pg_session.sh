# A PostgreSQL session inside the LibOS: starts the server of BINDIR on
# DATADIR (listening on a unix socket in /tmp only), runs SQL with psql,
# then stops the server (SIGINT, a fast shutdown) and prints its exit
# status. Usage: sh pg_session.sh BINDIR DATADIR SQL
B=$1
"$B/postgres" -D "$2" -k /tmp -c listen_addresses='' > /tmp/pg.log 2>&1 &
pg=$!
# Ready once it answers a query (its socket appears before it has
# finished starting up).
i=0
until "$B/psql" -h /tmp -U postgres -At -c "SELECT 1" > /dev/null 2>&1 || [ $i -ge 300 ]; do
    sleep 0.1
    i=$((i + 1))
done
"$B/psql" -h /tmp -U postgres -At -c "$3"
status=$?
kill -INT $pg
wait $pg
echo "server exit $?"
[ $status -eq 0 ] || cat /tmp/pg.log
exit $status
