# Socket.IO over TLS (wss): server CPU per new connection (full TLS handshake, WebSocket
# upgrade, Engine.IO open, Socket.IO CONNECT), RSS per idle wss connection with heartbeats
# answered, and echo-with-ack CPU per message, `sio-fixture bench --tls-cert --tls-key`
# against bench/node-reference.mjs over https, with a P-256 ECDSA certificate made here.
# Clients are bench/sio-load.mjs on TLS sockets, without session resumption.
TLS_SECONDS=${BENCH_SECONDS:-10}
TLS_CONNECTS=${BENCH_TLS_CONNECTS:-2000}
TLS_CONCURRENCY=${BENCH_TLS_CONCURRENCY:-16}
TLS_IDLE=${BENCH_TLS_IDLE:-2000}
TLS_HOLD=${BENCH_TLS_HOLD:-26}

TLS_DIR=$BENCH_TMP/tls
mkdir -p "$TLS_DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null

run_tls() {
    local name=$1
    shift
    local port out=$BENCH_TMP/tls.out url n cpu wall acks
    local load=(env "BENCH_TLS_CA=$TLS_DIR/cert.pem" node bench/sio-load.mjs)
    port=$(free_port)
    url="https://127.0.0.1:$port/socket.io/"
    start_server "$port" "$@" --port "$port"
    client "$out" "${load[@]}" connect "$url" "$SERVER_PID" "$TLS_CONNECTS" "$TLS_CONCURRENCY"
    server_alive
    n=$(json_get "$out" connections)
    wall=$(json_get "$out" wall_s)
    cpu=$(ticks_to_s "$(json_get "$out" server_ticks)")
    record "wss connect x$n, $TLS_CONCURRENCY at a time" "$name" \
        "conn_s=$(awk -v m="$n" -v w="$wall" 'BEGIN {printf "%.0f", m / w}')" "cpu_s=$cpu" \
        "conn_per_cpu_s=$(awk -v m="$n" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')" \
        "us_per_conn=$(awk -v m="$n" -v c="$cpu" 'BEGIN {printf "%.0f", c * 1e6 / m}')"
    local spec c w
    for spec in "8 1" "8 16"; do
        read -r c w <<<"$spec"
        client "$out" "${load[@]}" ack "$url" "$SERVER_PID" "$c" "$w" "$TLS_SECONDS"
        server_alive
        acks=$(json_get "$out" acks)
        wall=$(json_get "$out" wall_s)
        cpu=$(ticks_to_s "$(json_get "$out" server_ticks)")
        record "wss echo-ack ${c}x$w in flight" "$name" \
            "msg_s=$(awk -v m="$acks" -v w="$wall" 'BEGIN {printf "%.0f", m / w}')" "cpu_s=$cpu" \
            "msg_per_cpu_s=$(awk -v m="$acks" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')" \
            "us_per_msg=$(awk -v m="$acks" -v c="$cpu" 'BEGIN {printf "%.2f", (m > 0 ? c * 1e6 / m : 0)}')" \
            "p50_us=$(json_get "$out" p50_us)" "p99_us=$(json_get "$out" p99_us)"
    done
    stop_server
    # Idle connections on a fresh server, held past the first ping (25 s interval).
    port=$(free_port)
    url="https://127.0.0.1:$port/socket.io/"
    start_server "$port" "$@" --port "$port"
    client "$out" "${load[@]}" idle "$url" "$SERVER_PID" "$TLS_IDLE" "$TLS_HOLD"
    server_alive
    local before after echoes pings
    n=$(json_get "$out" connections)
    before=$(json_get "$out" rss_before_kb)
    after=$(json_get "$out" rss_after_kb)
    echoes=$(json_get "$out" echoes)
    pings=$(json_get "$out" pings)
    if [[ $echoes != "$n" ]]; then
        echo "bench: $name echoed to $echoes of $n idle wss connections" >&2
        return 1
    fi
    if ((TLS_HOLD >= 26 && pings < n)); then
        echo "bench: $name pinged $pings of $n idle wss connections in $TLS_HOLD s" >&2
        return 1
    fi
    record "wss idle x$n, ${TLS_HOLD} s" "$name" "connections=$n" "pings=$pings" "rss_kb=$after" \
        "rss_per_conn=$(((after - before) * 1024 / n))"
    stop_server
}

# BENCH_REPEAT rounds alternate the servers; the report keeps each one's median point.
for _ in $(seq "${BENCH_REPEAT:-1}"); do
    run_tls libsio "${BENCH_SIO_FIXTURE:-build/sio-fixture}" bench \
        --tls-cert "$TLS_DIR/cert.pem" --tls-key "$TLS_DIR/key.pem"
    run_tls node node bench/node-reference.mjs \
        --tls-cert "$TLS_DIR/cert.pem" --tls-key "$TLS_DIR/key.pem"
done
