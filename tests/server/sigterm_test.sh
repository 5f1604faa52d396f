#!/usr/bin/env bash
# cascade-server as a process: it starts with no flags but a free port, answers HTTP, and on
# SIGTERM drains and exits 0 within its deadline. Waits on the server's own log lines, never sleeps.
set -euo pipefail
server=$1
work=$(mktemp -d)
trap 'kill -KILL "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

mkfifo log
"$server" --listen 127.0.0.1:0 --drain-timeout 5 >log 2>&1 &
pid=$!
exec 3<log

# The listen line carries the port the kernel picked.
port=""
while IFS= read -r -t 60 line <&3; do
  echo "server: $line"
  if [[ $line =~ listening\ on\ 127\.0\.0\.1:([0-9]+) ]]; then
    port=${BASH_REMATCH[1]}
    break
  fi
done
[[ -n $port ]] || { echo "no listen line"; exit 1; }

# One HTTP request over bash's /dev/tcp: the server is up and serving the default (SQLite) store.
exec 4<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&4
IFS= read -r -t 60 status <&4
echo "health: $status"
[[ $status == "HTTP/1.1 200"* ]] || exit 1
exec 4<&-

kill -TERM "$pid"
# Drain the log until the server closes it (it exits), then collect its exit status.
while IFS= read -r -t 60 line <&3; do echo "server: $line"; done
rc=0
wait "$pid" || rc=$?
echo "exit status: $rc"
[[ $rc -eq 0 ]]
[[ -f allocation.db ]]  # the default store is a SQLite file in the working folder
