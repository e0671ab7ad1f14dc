# WebSocket: echo throughput (64 B, 4 KiB, 1 MiB) and RSS per idle connection at
# BENCH_WS_IDLE connections, sio-fixture ws-echo against the `ws` package. Metrics:
# messages per server CPU-second, and RSS bytes per connection.
WS_SECONDS=${BENCH_SECONDS:-10}
WS_IDLE=${BENCH_WS_IDLE:-10000}

run_ws() {
    local name=$1
    shift
    local port out
    port=$(free_port)
    start_server "$port" "$@" --port "$port" || return 1
    local spec size conns window
    for spec in "64 8 32" "4096 8 32" "1048576 2 4"; do
        read -r size conns window <<<"$spec"
        out=$(taskset -c "$CLIENT_CORE" node bench/ws-load.mjs echo "ws://127.0.0.1:$port/" \
            "$SERVER_PID" "$size" "$conns" "$window" "$WS_SECONDS")
        local msgs cpu wall
        msgs=$(node -pe "JSON.parse(process.argv[1]).messages" "$out")
        wall=$(node -pe "JSON.parse(process.argv[1]).wall_s" "$out")
        cpu=$(ticks_to_s "$(node -pe "JSON.parse(process.argv[1]).server_ticks" "$out")")
        record "ws echo ${size} B" "$name" "msg_s=$(awk -v m="$msgs" -v w="$wall" 'BEGIN {printf "%.0f", m / w}')" \
            "cpu_s=$cpu" "msg_per_cpu_s=$(awk -v m="$msgs" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')"
    done
    stop_server
    # Idle connections on a fresh server.
    port=$(free_port)
    start_server "$port" "$@" --port "$port" || return 1
    out=$(taskset -c "$CLIENT_CORE" node bench/ws-load.mjs idle "ws://127.0.0.1:$port/" "$SERVER_PID" "$WS_IDLE")
    local n before after pongs
    n=$(node -pe "JSON.parse(process.argv[1]).connections" "$out")
    before=$(node -pe "JSON.parse(process.argv[1]).rss_before_kb" "$out")
    after=$(node -pe "JSON.parse(process.argv[1]).rss_after_kb" "$out")
    pongs=$(node -pe "JSON.parse(process.argv[1]).pongs" "$out")
    if [[ $pongs != "$n" ]]; then
        echo "bench: $name answered $pongs of $n pings" >&2
        return 1
    fi
    record "ws idle x$n" "$name" "connections=$n" "rss_kb=$after" \
        "rss_per_conn=$(( (after - before) * 1024 / n ))" "pongs=$pongs"
    stop_server
}

run_ws libsio "${BENCH_SIO_FIXTURE:-build/sio-fixture}" ws-echo
run_ws node node bench/node-ws-echo.mjs
