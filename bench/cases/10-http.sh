# HTTP: wrk against a 1 KiB static file and a tiny dynamic route, libsio's fixture against
# node:http serving the same bytes. Metric: requests per server CPU-second.
SECONDS_=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-50}

run_http() {
    local name=$1
    shift
    local port
    port=$(free_port)
    start_server "$port" "$@" --port "$port" --public bench/data || return 1
    local target
    for target in /small.html /hello; do
        # Warm up (fills the static cache), then measure.
        taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$port$target" >/dev/null
        local t0 t1 out rps
        t0=$(cpu_ticks "$SERVER_PID")
        out=$(taskset -c "$CLIENT_CORE" wrk -t1 -c"$CONNS" -d"${SECONDS_}s" "http://127.0.0.1:$port$target")
        t1=$(cpu_ticks "$SERVER_PID")
        if grep -q "Non-2xx" <<<"$out"; then
            echo "bench: $name $target answered errors:" >&2
            echo "$out" >&2
            return 1
        fi
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        local cpu reqs
        cpu=$(ticks_to_s $((t1 - t0)))
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        record "http $target" "$name" "rps=$rps" "requests=$reqs" "cpu_s=$cpu" \
            "req_per_cpu_s=$(awk -v r="$reqs" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? r / c : 0)}')" \
            "us_per_req=$(awk -v r="$reqs" -v c="$cpu" 'BEGIN {printf "%.2f", (r > 0 ? c * 1e6 / r : 0)}')" \
            "rss_kb=$(hwm_kb "$SERVER_PID")"
    done
    stop_server
}

run_http libsio "${BENCH_SIO_HTTP:-build/sio-fixture}" http
run_http node node bench/node-http.mjs
