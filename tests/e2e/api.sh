#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The host's side of run.sh's control socket cases (api-*), run in HOST
# while the guest serves or waits. Real clients: nc -U sends the requests
# the way slirp4netns's documentation does (`echo -n $json | nc -U sock`:
# no newline, nc keeps its side open, the server closes after the reply),
# or a line then shutdown (nc -N, as rootlesskit does); socat makes the
# TCP connections; jq reads the replies.
#
#   api.sh hostfwd SOCK HOST_PORT GUEST_PORT
#       add_hostfwd (slirp4netns's documented request line) -> a connection
#       to 127.0.0.1:HOST_PORT reaches the guest's GUEST_PORT (its server
#       answers with the peer it saw) -> list_hostfwd shows the entry ->
#       remove_hostfwd -> the port refuses.
#   api.sh bad-input SOCK
#       garbage, a non-object, an unknown verb, bad arguments, a 1 MiB line,
#       half a line then close, 17 clients at once: each answered (or
#       dropped), and the socket still answers get_info afterwards.
#   api.sh stats SOCK BEFORE MEDIUM ADDR PORT
#       once the guest downloaded MEDIUM bytes and holds one connection to
#       ADDR:PORT that sent 1000 bytes: the stats verb, against
#       the counters in the file BEFORE (the stats verb's reply from before
#       the guest started), shows exactly 2 new TCP flows, no UDP session,
#       tcp_bytes_down within MEDIUM plus headers; the flows verb shows the
#       held connection with bytes_up 1000; SIGUSR1 makes sandnet log the
#       counters (run.sh checks its log).
#
# Prints what it checked on stdout; on failure, one line on stderr and
# exit 1.
set -u

fail() {
    echo "api.sh $MODE: $*" >&2
    exit 1
}

oneshot() { # oneshot SOCK JSON: slirp4netns's documented way
    printf '%s' "$2" | timeout 5 nc -U "$1"
}

line() { # line SOCK JSON: a request line, then shutdown
    printf '%s\n' "$2" | timeout 5 nc -N -U "$1"
}

expect() { # expect LABEL REPLY JQ-FILTER: the filter must hold for the reply
    jq -e "$3" >/dev/null 2>&1 <<<"$2" || fail "$1: reply '$2' fails $3"
}

MODE=${1:-}
case $MODE in
hostfwd)
    (($# == 4)) || fail "usage"
    sock=$2 hport=$3 gport=$4
    add="{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"tcp\", \"host_addr\": \"127.0.0.1\", \"host_port\": $hport, \"guest_port\": $gport}}"
    r=$(oneshot "$sock" "$add") || fail "add_hostfwd: nc exit $?: '$r'"
    expect add_hostfwd "$r" '.return.id | type == "number"'
    id=$(jq -r .return.id <<<"$r")
    echo "add_hostfwd: $r"
    who=$(timeout 10 socat -u "TCP:127.0.0.1:$hport" - 2>&1) || fail "connection to the forwarded port: $who"
    echo "the guest saw: $who"
    r=$(line "$sock" '{"execute": "list_hostfwd"}') || fail "list_hostfwd: nc exit $?"
    expect list_hostfwd "$r" "[.return.entries[] | select(.id == $id and .proto == \"tcp\" and
        .host_addr == \"127.0.0.1\" and .host_port == $hport and .guest_addr == \"10.0.2.15\" and
        .guest_port == $gport)] | length == 1"
    echo "list_hostfwd: $r"
    r=$(oneshot "$sock" "{\"execute\": \"remove_hostfwd\", \"arguments\": {\"id\": $id}}") ||
        fail "remove_hostfwd: nc exit $?"
    [[ $r == '{"return":{}}' ]] || fail "remove_hostfwd: '$r'"
    echo "remove_hostfwd: $r"
    if out=$(timeout 10 socat -u "TCP:127.0.0.1:$hport" - 2>&1); then
        fail "the removed port still connects: $out"
    fi
    [[ $out == *"Connection refused"* ]] || fail "the removed port: $out"
    r=$(line "$sock" '{"execute": "list_hostfwd"}')
    expect "list_hostfwd after remove" "$r" '.return.entries == [] and .entries == []'
    echo "after remove_hostfwd: refused"
    ;;

bad-input)
    (($# == 2)) || fail "usage"
    sock=$2
    r=$(line "$sock" 'badjson')
    expect garbage "$r" '.error.desc == "bad request: cannot parse JSON"'
    r=$(line "$sock" '[1, 2, 3]')
    expect non-object "$r" '.error.desc == "bad request: json_object() failed"'
    r=$(line "$sock" '{"execute": "bad"}')
    expect "unknown verb" "$r" '.error.desc == "bad request: unknown execute"'
    r=$(line "$sock" '{"execute": "add_hostfwd", "arguments":{"proto": "bad"}}')
    expect "bad proto" "$r" '.error.desc == "bad request: add_hostfwd: bad arguments.proto"'
    # several requests on one connection, answered in order
    r=$(printf '%s\n' '{"execute": "bad"}' 'junk' '{"execute": "get_info"}' | timeout 5 nc -N -U "$sock")
    [[ $(wc -l <<<"$r") == 3 ]] || fail "three requests, replies: '$r'"
    expect "third of three" "$(tail -n 1 <<<"$r")" '.return.guest_addr == "10.0.2.15"'
    echo "garbage, non-object, unknown verb, bad arguments, three in a row: answered"
    # a 1 MiB line: an error, then the server closes. nc stops at its first
    # failed write (EPIPE) without reading the reply: a client that keeps
    # reading while it writes, in Python, says what came back and whether
    # the server closed
    r=$(timeout 15 python3 - "$sock" <<'PY'
import select, socket, sys, time

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.setblocking(False)
line, sent, got, end = b"x" * (1 << 20) + b"\n", 0, b"", time.time() + 10
while time.time() < end:
    r, w, _ = select.select([s], [s] if sent < len(line) else [], [], 0.5)
    if w:
        try:
            sent += s.send(line[sent:sent + 65536])
        except (BrokenPipeError, ConnectionResetError):
            sent = len(line)
    if r:
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        if not data:
            print(got.decode(errors="replace").strip() + " (closed)")
            sys.exit(0)
        got += data
print(got.decode(errors="replace").strip() + " (still open)")
PY
)
    [[ $r == '{"error":{"desc":"bad request: too large message"}} (closed)' ]] ||
        fail "1 MiB line: '${r:0:200}'"
    echo "1 MiB line: $r"
    # half a line, then close
    printf '{"execute": "li' | timeout 5 socat -t 0 - "UNIX-CONNECT:$sock" >/dev/null 2>&1
    # 17 clients: 16 are held open, the 17th is told and closed
    pids=()
    for _ in $(seq 16); do
        sleep 4 | nc -U "$sock" >/dev/null 2>&1 &
        pids+=($!)
    done
    sleep 1
    r=$(line "$sock" '{"execute": "get_info"}')
    kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
    expect "17th client" "$r" '.error.desc == "too many clients: at most 16 at once"'
    echo "17th client: $r"
    sleep 0.5
    r=$(line "$sock" '{"execute": "get_info"}')
    expect "after it all" "$r" '.return.verbs | index("flows") != null'
    echo "still serving: get_info answered"
    ;;

stats)
    (($# == 6)) || fail "usage"
    sock=$2 before=$3 medium=$4 sink=$5 sport=$6
    # the held connection has sent its 1000 bytes to the host by now, or soon
    for _ in $(seq 50); do
        f=$(line "$sock" '{"execute": "flows"}')
        jq -e "[.return.flows[] | select(.proto == \"tcp\" and .remote_addr == \"$sink\" and
            .remote_port == $sport and .bytes_up == 1000 and .state == \"open\" and
            .dir == \"out\" and .guest_addr == \"10.0.2.15\")] | length == 1" >/dev/null <<<"$f" && break
        sleep 0.1
    done
    expect flows "$f" "[.return.flows[] | select(.remote_port == $sport and .bytes_up == 1000)] | length == 1"
    expect "flows count" "$f" '[.return.flows[] | select(.proto == "tcp")] | length == 1'
    echo "flows: $f"
    s=$(line "$sock" '{"execute": "stats"}')
    d() { # d NAME: the counter's growth since BEFORE
        echo $(($(jq -r ".return.counters.$1" <<<"$s") - $(jq -r ".return.counters.$1" <"$before")))
    }
    [[ $(d tcp_flows) == 2 ]] || fail "tcp_flows grew by $(d tcp_flows), want 2"
    [[ $(d tcp_flows_active) == 1 ]] || fail "tcp_flows_active grew by $(d tcp_flows_active), want 1"
    [[ $(d udp_sessions) == 0 ]] || fail "udp_sessions grew by $(d udp_sessions), want 0"
    down=$(d tcp_bytes_down) up=$(d tcp_bytes_up)
    ((down >= medium && down <= medium + 4096)) || fail "tcp_bytes_down grew by $down, want $medium..+4096"
    ((up >= 1000 && up <= 1000 + 4096)) || fail "tcp_bytes_up grew by $up, want 1000..+4096"
    expect "stats shape" "$s" '.return.stats_version == 1 and (.return.policy | map(.what) |
        index("default-egress") != null)'
    echo "stats: tcp_flows +2, udp_sessions +0, tcp_bytes_down +$down, tcp_bytes_up +$up"
    # sandnet itself, not the timeout(1) that runs it
    pid=$(pgrep -f "^[^ ]*sandnet (run|attach) .*--api-socket $sock" | head -n 1)
    [[ -n $pid ]] || fail "no sandnet process with --api-socket $sock"
    kill -USR1 "$pid" || fail "SIGUSR1 to $pid"
    echo "SIGUSR1 sent to $pid"
    sleep 0.5
    ;;
*)
    fail "usage: api.sh hostfwd|bad-input|stats ..."
    ;;
esac
