# Socket.IO driven by build/sio-bench (tools/sio-bench, the C load generator), `sio-fixture
# bench` against bench/node-reference.mjs (socket.io with the same handlers):
#   - RSS per idle WebSocket connection at 1,000, 5,000, 10,000 and the most the
#     descriptor limit allows, the last two held past every connection's first ping;
#   - echo-ack closed loop (8 connections x 16 and x 1 in flight): server CPU per ack, and
#     its user and kernel (system) parts;
#   - echo-ack open loop at both servers' exact half of Node's closed-loop 8x16 rate (p99),
#     once more for libsio with busy polling (sio_server_options.busy_poll_us), and a
#     ladder of offered rates up to and past each server's saturation;
#   - broadcast 1 -> 1000 receivers and room fan-out (1000 receivers in 10 rooms), 1000
#     emits/s with 64-byte payloads: server CPU per delivery, and its system part;
#   - handshakes, 16 under way at once: server CPU per handshake;
#   - long-polling: echo-ack closed loop, handshakes, and RSS per idle session.
# Node runs first in each round: its closed-loop rate sets the half-saturation point of
# both. Records carry the issue's targets (`target`) and plot series (`plot`) for
# bench/report.mjs, which writes bench/results/<date>-latency.png and -rss.png.
SIOC_SECONDS=${BENCH_SECONDS:-5}
SIOC_BENCH=${BENCH_SIO_BENCH:-build/sio-bench}
SIOC_FIXTURE=${BENCH_SIO_FIXTURE:-build/sio-fixture}
# The most connections both processes can hold: one descriptor each, a hundred to spare.
SIOC_MAX=$(($(ulimit -n) - 100))
SIOC_IDLE=${BENCH_SIOC_IDLE:-1000 5000 10000 $SIOC_MAX}
SIOC_HOLD=${BENCH_SIOC_HOLD:-26}
SIOC_RATES=${BENCH_SIOC_RATES:-2000 5000 10000 20000 30000 40000 50000 70000 100000 150000 200000 300000 400000 500000 600000 800000}
SIOC_BUSY_POLL_US=${BENCH_SIOC_BUSY_POLL_US:-300}
SIOC_NODE_SAT=
SIOC_ACKS_S=
SIOC_CHILD_S=

# sioc_start NAME [ARGS...]: a fresh server, libsio (with sio-fixture ARGS) or node; sets
# SIOC_PORT and SIOC_SERVER.
sioc_start() {
    SIOC_SERVER=$1
    SIOC_PORT=$(free_port)
    if [[ $1 == libsio ]]; then
        start_server "$SIOC_PORT" "$SIOC_FIXTURE" bench --port "$SIOC_PORT" "${@:2}"
    else
        start_server "$SIOC_PORT" node bench/node-reference.mjs --port "$SIOC_PORT"
    fi
}

# Busy ticks of both cores (user, nice, system, irq, softirq: a process's system time
# includes the softirq work done in its context) and their steal ticks, on one line.
sioc_busy() {
    awk -v s="cpu$SERVER_CORE" -v c="cpu$CLIENT_CORE" '$1 == s || $1 == c {b += $2 + $3 + $4 + $7 + $8; t += $9}
        END {print b, t}' /proc/stat
}

# sioc_children_s: SIOC_CHILD_S, the CPU seconds of this shell's reaped children so far
# (bash's `times`, second line): the servers (once stopped), sio-bench runs and helpers of
# the case. Not in a command substitution, whose subshell has children of its own.
sioc_children_s() {
    times >"$BENCH_TMP/sioc.times"
    SIOC_CHILD_S=$(awk 'NR == 2 {t = 0; for (i = 1; i <= 2; i++) {v = $i; sub(/s$/, "", v); split(v, p, "m"); t += p[1] * 60 + p[2]} print t}' \
        "$BENCH_TMP/sioc.times")
}

# sioc_noise_start / sioc_noise_end LABEL: around a server's round, a warning on stderr
# when processes other than the case's own used more than 5% of the two cores, or the
# hypervisor took more than 2% of them (steal). Counted over the whole round: /proc/stat
# lags behind a process that never sleeps, so it is read only between runs.
sioc_noise_start() {
    read -r SIOC_BUSY0 SIOC_STEAL0 <<<"$(sioc_busy)"
    sioc_children_s
    SIOC_CHILD0=$SIOC_CHILD_S
    SIOC_WALL0=$(date +%s%N)
}
sioc_noise_end() {
    local busy steal child wall
    read -r busy steal <<<"$(sioc_busy)"
    sioc_children_s
    child=$SIOC_CHILD_S
    wall=$(date +%s%N)
    awk -v l="$1" -v b="$((busy - SIOC_BUSY0))" -v t="$((steal - SIOC_STEAL0))" -v c0="$SIOC_CHILD0" \
        -v c1="$child" -v w="$(((wall - SIOC_WALL0) / 1000000))" -v hz="$TICK" 'BEGIN {
        w /= 1000; o = 100 * (b / hz - (c1 - c0)) / (2 * w); s = 100 * t / hz / (2 * w)
        if (o > 5) printf "bench: %s: other processes used %.0f%% of the two cores over %.0f s\n", l, o, w > "/dev/stderr"
        if (s > 2) printf "bench: %s: the hypervisor took %.0f%% of the two cores (steal) over %.0f s\n", l, s, w > "/dev/stderr"
    }'
}

# sioc_load OUT ARGS...: sio-bench ARGS against the running server, pinned to the load
# generator core, its JSON line into OUT. Fails, with its output and the server's log, if
# sio-bench does (a connection failed or was lost, nothing measured, deliveries missing).
sioc_load() {
    local out=$1 rc=0
    shift
    client "$out" "$SIOC_BENCH" --port "$SIOC_PORT" --server-pid "$SERVER_PID" "$@" || rc=$?
    if ((rc)); then
        echo "bench: $SIOC_SERVER: sio-bench $* exited with $rc: $(cat "$out")" >&2
        tail -n 20 "$BENCH_TMP/server.log" >&2
        return "$rc"
    fi
}

# sioc_get OUT KEY...: the values of KEYs in the JSON line in OUT, on one line (one node
# start for all of them); fails if one is missing.
sioc_get() {
    node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const ks = process.argv.slice(2), miss = ks.filter((k) => !(k in o));
        if (miss.length) { console.error(`bench: no ${miss} in ${JSON.stringify(o)}`); process.exit(1); }
        console.log(ks.map((k) => o[k]).join(" "))' "$@"
}

# Percent of the window: ticks (server) or seconds (load generator) over wall seconds.
sioc_pct_ticks() { awk -v t="$1" -v w="$2" -v hz="$TICK" 'BEGIN {printf "%.0f", 100 * t / hz / w}'; }
sioc_pct_s() { awk -v t="$1" -v w="$2" 'BEGIN {printf "%.0f", 100 * t / w}'; }

# sioc_idle NAME N HOLD [TRANSPORT]: on a fresh server, a 200-connection idle run that
# closes (first-touch pages and caches are not charged per connection), then N idle
# connections held HOLD seconds; RSS growth per connection. At 26 s or more every
# connection must have answered its first ping.
sioc_idle() {
    local name=$1 n=$2 hold=$3 tp=${4:-websocket} out=$BENCH_TMP/sioc.out
    local conns pings ticks wall before after label=ws group="idle WebSocket connections" extra=()
    [[ $tp == websocket ]] || { label=$tp; group="long-polling"; }
    sioc_start "$name"
    sioc_load "$out" --transport "$tp" --scenario idle --connections 200 --seconds 0.5 --sources 4
    sioc_load "$out" --transport "$tp" --scenario idle --connections "$n" --seconds "$hold" --sources 4
    read -r conns pings ticks wall before after <<<"$(sioc_get "$out" connections pings server_ticks wall_s \
        rss_before_kb rss_after_kb)"
    if ((hold >= 26 && pings != n)); then
        echo "bench: $name: $pings pings answered by $n idle $tp connections in $hold s" >&2
        return 1
    fi
    if [[ $tp == websocket ]]; then
        extra=('plot="rss"')
        ((n < 10000)) || extra+=(target=10)
    fi
    record "sio idle $label x$n, ${hold} s" "$name" "group=\"$group\"" "connections=$conns" \
        "hold_s=$hold" "pings=$pings" "hold_cpu=$(sioc_pct_ticks "$ticks" "$wall")" \
        "rss_before_kb=$before" "rss_kb=$after" "rss_per_conn=$(((after - before) * 1024 / n))" \
        'metric="rss_per_conn"' "${extra[@]}"
    stop_server
}

# sioc_closed NAME CONNS WINDOW TRANSPORT GROUP [TARGET]: closed-loop echo-ack on the
# running server; sets SIOC_ACKS_S.
sioc_closed() {
    local name=$1 c=$2 w=$3 tp=$4 group=$5 out=$BENCH_TMP/sioc.out target=()
    local acks_s ticks wall per sys cper p50 p99 label=
    [[ -z ${6:-} ]] || target=("target=$6")
    [[ $tp == websocket ]] || label=" $tp"
    sioc_load "$out" --transport "$tp" --scenario echo-ack --connections "$c" --window "$w" \
        --seconds "$SIOC_SECONDS"
    read -r acks_s ticks wall per sys cper p50 p99 <<<"$(sioc_get "$out" acks_per_s server_ticks wall_s \
        server_us_per_ack server_sys_us_per_ack client_us_per_ack p50_us p99_us)"
    record "sio echo-ack$label ${c}x$w in flight" "$name" "group=\"$group\"" "acks_s=$acks_s" \
        "cpu_pct=$(sioc_pct_ticks "$ticks" "$wall")" "us_per_ack=$per" \
        "user_us_per_ack=$(awk -v a="$per" -v b="$sys" 'BEGIN {printf "%.3f", a - b}')" \
        "sys_us_per_ack=$sys" "client_us_per_ack=$cper" \
        "p50_us=$p50" "p99_us=$p99" 'metric="us_per_ack"' "${target[@]}"
    SIOC_ACKS_S=$acks_s
}

# sioc_open NAME RATE CASE GROUP [EXTRA...]: open-loop echo-ack from 8 connections at RATE
# emits/s on the running server, recorded as CASE; a failed run is recorded too (and
# reported). Returns 1 when the server did not keep up: achieved rate below 90% of RATE,
# p99 over 100 ms, or sio-bench failed.
sioc_open() {
    local name=$1 rate=$2 case=$3 group=$4 out=$BENCH_TMP/sioc.out rc=0
    shift 4
    local acks_s ticks wall cpu per p50 p90 p99 p999 missed
    sioc_load "$out" --scenario echo-ack --connections 8 --rate "$rate" --seconds "$SIOC_SECONDS" ||
        rc=$?
    [[ -s $out ]] || return 1
    read -r acks_s ticks wall cpu per p50 p90 p99 p999 missed <<<"$(sioc_get "$out" acks_per_s \
        server_ticks wall_s client_cpu_s server_us_per_ack p50_us p90_us p99_us p999_us missed)"
    record "$case" "$name" "group=\"$group\"" "rate=$rate" "acks_s=$acks_s" "missed=$missed" \
        "p50_us=$p50" "p90_us=$p90" "p99_us=$p99" "p999_us=$p999" \
        "cpu_pct=$(sioc_pct_ticks "$ticks" "$wall")" "client_cpu=$(sioc_pct_s "$cpu" "$wall")" \
        "us_per_ack=$per" 'metric="p99_us"' "$@"
    ((rc == 0)) && awk -v a="$acks_s" -v r="$rate" -v p="$p99" 'BEGIN {exit !(a >= 0.9 * r && p <= 100000)}'
}

# sioc_half_sat NAME SUFFIX [EXTRA...]: open-loop echo-ack at half of Node's 8x16 rate on
# the running server, recorded as the half-saturation case (SUFFIX appended to its name).
# Three runs: a p99 is the first figure other load on the machine spoils, and the report
# keeps the median run.
sioc_half_sat() {
    local name=$1 suffix=$2 rate=$((SIOC_NODE_SAT / 2))
    shift 2
    for _ in 1 2 3; do
        sioc_open "$name" "$rate" "sio echo-ack 8 conns @ $rate/s, half of Node's 8x16 acks/s$suffix" \
            "echo-ack at half of Node's saturation (open loop)" "$@" || true
    done
}

# sioc_fanout NAME SCENARIO RATE CASE [ARGS...]: broadcast or rooms on a fresh server,
# 1000 receivers, RATE emits/s of 64 bytes; the target is for broadcast at 1000/s. Rooms
# deliveries still missing 2 s after the window (a server too slow to keep up; sio-bench
# then exits 1) are recorded and reported, not fatal; any other failure is.
sioc_fanout() {
    local name=$1 sc=$2 rate=$3 case=$4 out=$BENCH_TMP/sioc.out rc=0
    shift 4
    local d ticks wall per sys cper failed lost missing=0 target=() extra=()
    [[ $sc == broadcast && $rate == 1000 ]] && target=(target=10)
    sioc_start "$name"
    sioc_load "$out" --scenario "$sc" --connections 1000 --rate "$rate" --payload-size 64 \
        --seconds "$SIOC_SECONDS" --sources 4 "$@" || rc=$?
    [[ -s $out ]] || return 1
    read -r d ticks wall per sys cper failed lost <<<"$(sioc_get "$out" deliveries_per_s server_ticks \
        wall_s server_us_per_delivery server_sys_us_per_delivery client_us_per_delivery failed lost)"
    if [[ $sc == rooms ]]; then
        missing=$(sioc_get "$out" missing)
        extra=("missing=$missing")
    fi
    if ((rc && (failed || lost || missing <= 0))); then
        return "$rc"
    fi
    ((missing <= 0)) || echo "bench: $name: $missing room deliveries missing 2 s after the window" >&2
    record "$case" "$name" 'group="fan-out, 1000 receivers, 64 B"' "rate=$rate" "deliveries_s=$d" \
        "cpu_pct=$(sioc_pct_ticks "$ticks" "$wall")" "us_per_delivery=$per" \
        "sys_us_per_delivery=$sys" "client_us_per_delivery=$cper" "${extra[@]}" \
        'metric="us_per_delivery"' "${target[@]}"
    stop_server
}

# sioc_handshake NAME TRANSPORT GROUP [TARGET]: 16 handshakes under way at once, on the
# running server.
sioc_handshake() {
    local name=$1 tp=$2 group=$3 out=$BENCH_TMP/sioc.out target=()
    local h ticks wall per cper p50 p99 label=
    [[ -z ${4:-} ]] || target=("target=$4")
    [[ $tp == websocket ]] || label=" $tp"
    sioc_load "$out" --transport "$tp" --scenario handshake --connections 16 --seconds "$SIOC_SECONDS"
    read -r h ticks wall per cper p50 p99 <<<"$(sioc_get "$out" handshakes_per_s server_ticks wall_s \
        server_us_per_handshake client_us_per_handshake p50_us p99_us)"
    record "sio handshake$label, 16 at once" "$name" "group=\"$group\"" "handshakes_s=$h" \
        "cpu_pct=$(sioc_pct_ticks "$ticks" "$wall")" "us_per_handshake=$per" \
        "client_us_per_handshake=$cper" "p50_us=$p50" "p99_us=$p99" 'metric="us_per_handshake"' \
        "${target[@]}"
}

run_sioc() {
    local name=$1 n rate
    sioc_noise_start
    for n in $SIOC_IDLE; do
        if ((n >= 10000)); then sioc_idle "$name" "$n" "$SIOC_HOLD"; else sioc_idle "$name" "$n" 2; fi
    done

    sioc_start "$name"
    sioc_closed "$name" 8 16 websocket "echo-ack, closed loop" 8
    [[ $name != node || -n $SIOC_NODE_SAT ]] || SIOC_NODE_SAT=$SIOC_ACKS_S
    # One emit in flight per connection: every ack is its own read and write, and that
    # kernel time alone (the system column) is more than 1/8 of Node's whole CPU per ack,
    # so it bounds the ratio; reported without a target (bench/README.md, "echo-ack,
    # closed loop").
    sioc_closed "$name" 8 1 websocket "echo-ack, closed loop"
    sioc_half_sat "$name" "" target=5
    for rate in $SIOC_RATES; do
        sioc_open "$name" "$rate" "sio echo-ack 8 conns @ $rate/s" \
            "echo-ack latency vs offered rate (open loop)" 'plot="latency"' || break
    done
    server_alive
    stop_server
    # The half-saturation point again with busy polling (libsio only, no target): what a
    # core kept awake between bursts buys (docs/tuning.md, "Latency and the kernel").
    if [[ $name == libsio ]]; then
        sioc_start libsio --busy-poll-us "$SIOC_BUSY_POLL_US"
        sioc_half_sat "$name" ", busy_poll_us $SIOC_BUSY_POLL_US"
        server_alive
        stop_server
    fi

    sioc_fanout "$name" broadcast 1000 "sio broadcast 1→1000 @ 1000/s"
    sioc_fanout "$name" broadcast 20 "sio broadcast 1→1000 @ 20/s"
    sioc_fanout "$name" rooms 1000 "sio rooms 1→1000 in 10 rooms @ 1000/s" --rooms 10

    sioc_start "$name"
    sioc_handshake "$name" websocket "handshake" 5
    stop_server

    sioc_start "$name"
    sioc_closed "$name" 8 16 polling "long-polling"
    sioc_handshake "$name" polling "long-polling"
    stop_server
    sioc_idle "$name" 1000 2 polling
    sioc_noise_end "$name"
}

# BENCH_REPEAT rounds alternate the servers, Node first (its closed-loop rate sets the
# half-saturation point); the report keeps each one's median point.
for _ in $(seq "${BENCH_REPEAT:-1}"); do
    run_sioc node
    run_sioc libsio
done
