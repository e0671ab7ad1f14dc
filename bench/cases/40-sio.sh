# Socket.IO: broadcast fan-out (1 sender → BENCH_SIO_RECEIVERS receivers), echo-with-ack
# (server CPU per message and latency), and RSS per idle connection, `sio-fixture bench`
# against bench/node-reference.mjs (socket.io with the same handlers). Clients are raw
# WebSocket connections that speak Engine.IO v4 / Socket.IO v5 (bench/sio-load.mjs).
SIO_SECONDS=${BENCH_SECONDS:-10}
SIO_RECEIVERS=${BENCH_SIO_RECEIVERS:-1000}
SIO_RATE=${BENCH_SIO_RATE:-1000}
SIO_IDLE=${BENCH_SIO_IDLE:-5000}

run_sio() {
    local name=$1
    shift
    local port out=$BENCH_TMP/sio.out url n d cpu wall acks
    port=$(free_port)
    url="http://127.0.0.1:$port/socket.io/"
    start_server "$port" "$@" --port "$port"
    client "$out" node bench/sio-load.mjs broadcast "$url" "$SERVER_PID" "$SIO_RECEIVERS" \
        "$SIO_RATE" "$SIO_SECONDS"
    server_alive
    d=$(json_get "$out" deliveries)
    wall=$(json_get "$out" wall_s)
    cpu=$(ticks_to_s "$(json_get "$out" server_ticks)")
    record "sio broadcast 1→$SIO_RECEIVERS" "$name" \
        "msg_s=$(awk -v m="$d" -v w="$wall" 'BEGIN {printf "%.0f", m / w}')" "cpu_s=$cpu" \
        "msg_per_cpu_s=$(awk -v m="$d" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')" \
        "us_per_msg=$(awk -v m="$d" -v c="$cpu" 'BEGIN {printf "%.2f", (m > 0 ? c * 1e6 / m : 0)}')"
    local spec c w
    for spec in "8 1" "8 16"; do
        read -r c w <<<"$spec"
        client "$out" node bench/sio-load.mjs ack "$url" "$SERVER_PID" "$c" "$w" "$SIO_SECONDS"
        server_alive
        acks=$(json_get "$out" acks)
        wall=$(json_get "$out" wall_s)
        cpu=$(ticks_to_s "$(json_get "$out" server_ticks)")
        record "sio echo-ack ${c}x$w in flight" "$name" \
            "msg_s=$(awk -v m="$acks" -v w="$wall" 'BEGIN {printf "%.0f", m / w}')" "cpu_s=$cpu" \
            "msg_per_cpu_s=$(awk -v m="$acks" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')" \
            "us_per_msg=$(awk -v m="$acks" -v c="$cpu" 'BEGIN {printf "%.2f", (m > 0 ? c * 1e6 / m : 0)}')" \
            "p50_us=$(json_get "$out" p50_us)" "p99_us=$(json_get "$out" p99_us)"
    done
    stop_server
    # Idle connections on a fresh server.
    port=$(free_port)
    url="http://127.0.0.1:$port/socket.io/"
    start_server "$port" "$@" --port "$port"
    client "$out" node bench/sio-load.mjs idle "$url" "$SERVER_PID" "$SIO_IDLE"
    server_alive
    local before after echoes
    n=$(json_get "$out" connections)
    before=$(json_get "$out" rss_before_kb)
    after=$(json_get "$out" rss_after_kb)
    echoes=$(json_get "$out" echoes)
    if [[ $echoes != "$n" ]]; then
        echo "bench: $name echoed to $echoes of $n idle connections" >&2
        return 1
    fi
    record "sio idle x$n" "$name" "connections=$n" "rss_kb=$after" \
        "rss_per_conn=$(((after - before) * 1024 / n))"
    stop_server
}

# BENCH_REPEAT rounds alternate the servers; the report keeps each one's median point.
for _ in $(seq "${BENCH_REPEAT:-1}"); do
    run_sio libsio "${BENCH_SIO_FIXTURE:-build/sio-fixture}" bench
    run_sio node node bench/node-reference.mjs
done
