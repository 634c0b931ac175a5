# Background jobs, for the LibOS tests: the same output natively and inside
# the LibOS, with busybox sh and with bash.
# Usage: sh jobs_script.sh WORKDIR PORT (a free TCP port on 127.0.0.1).
export PATH="${PATH:-/bin:/usr/bin}"
cd "$1" || exit 1
(sleep 0.3; echo "background job") &
echo "foreground first"
wait
echo "after wait"
sleep 10 &
pid=$!
kill "$pid"
wait "$pid"
echo "killed job status $?"
sleep 10 &
kill %1
wait
echo "kill %1 done"
(exit 3) &
wait $!
echo "job status $?"
# A server and a client side by side, over a pipe: the server answers each
# request as it comes.
{
    i=0
    while [ $i -lt 5 ]; do echo "request $i"; i=$((i + 1)); sleep 0.01; done
} | {
    while read -r req; do echo "served $req"; done
} &
wait
# Over a named pipe: the server in the background reads requests until the
# client closes the FIFO, the client in the foreground writes them.
mkfifo requests
(while read -r req; do echo "fifo served $req"; done < requests) &
server=$!
for i in 1 2 3; do echo "request $i"; done > requests
wait "$server"
echo "fifo server status $?"
rm -f requests
# A TCP server in the background and a client in the foreground, which
# sends until the server has the message (a stray connection to the port,
# or one before the server listens, only means another round).
: > got.txt
(until grep -q "over tcp" got.txt; do nc -l -p "$2" >> got.txt; done) &
server=$!
i=0
while kill -0 "$server" 2>/dev/null && [ $i -lt 200 ]; do
    echo "over tcp" | nc -w 1 127.0.0.1 "$2" 2>/dev/null
    i=$((i + 1))
    sleep 0.05
done
kill "$server" 2>/dev/null
wait "$server"
grep -m 1 "over tcp" got.txt
rm -f got.txt
# Several jobs that run at once and finish in their own order.
(sleep 0.4; echo "slow") &
(sleep 0.1; echo "fast") &
(sleep 0.2; echo "middle") &
wait
# A job that writes a file the parent then reads.
(i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i + 1)); done > out.txt) &
wait $!
wc -l < out.txt
rm -f out.txt
echo done
