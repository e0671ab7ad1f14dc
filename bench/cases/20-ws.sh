# WebSocket: echo throughput (64 B, 4 KiB, 1 MiB) and RSS per idle connection at
# BENCH_WS_IDLE connections, sio-fixture ws-echo against the `ws` package. Metrics:
# messages per server CPU-second, and RSS bytes per connection.
WS_SECONDS=${BENCH_SECONDS:-10}
WS_IDLE=${BENCH_WS_IDLE:-10000}

run_ws() {
    local name=$1
    shift
    local port out=$BENCH_TMP/ws.out s0 s1
    port=$(free_port)
    start_server "$port" "$@" --port "$port"
    local spec size conns window msgs cpu wall
    for spec in "64 8 32" "4096 8 32" "1048576 2 4"; do
        read -r size conns window <<<"$spec"
        # ws-load reads the server's CPU ticks itself around its measured window.
        s0=$(steal_ticks)
        client "$out" node bench/ws-load.mjs echo "ws://127.0.0.1:$port/" \
            "$SERVER_PID" "$size" "$conns" "$window" "$WS_SECONDS"
        s1=$(steal_ticks)
        warn_steal "$name ws echo $size B" $((s1 - s0)) $((WS_SECONDS + 1))
        server_alive
        msgs=$(json_get "$out" messages)
        wall=$(json_get "$out" wall_s)
        cpu=$(ticks_to_s "$(json_get "$out" server_ticks)")
        record "ws echo ${size} B" "$name" "msg_s=$(awk -v m="$msgs" -v w="$wall" 'BEGIN {printf "%.0f", m / w}')" \
            "cpu_s=$cpu" "msg_per_cpu_s=$(awk -v m="$msgs" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')"
    done
    stop_server
    # Idle connections on a fresh server.
    port=$(free_port)
    start_server "$port" "$@" --port "$port"
    client "$out" node bench/ws-load.mjs idle "ws://127.0.0.1:$port/" "$SERVER_PID" "$WS_IDLE"
    server_alive
    local n before after pongs
    n=$(json_get "$out" connections)
    before=$(json_get "$out" rss_before_kb)
    after=$(json_get "$out" rss_after_kb)
    pongs=$(json_get "$out" pongs)
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
