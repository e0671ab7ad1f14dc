# HTTP: wrk against a 1 KiB static file and a tiny dynamic route, `sio-fixture http`
# against node:http serving the same bytes. Metric: requests per server CPU-second.
# BENCH_SIO_HTTP replaces the libsio command (e.g. "node bench/node-http.mjs" to check the
# plumbing without a build); --port and --public are appended.
HTTP_SECONDS=${BENCH_SECONDS:-10}
HTTP_CONNS=${BENCH_CONNS:-50}
HTTP_REPEAT=${BENCH_REPEAT:-1}

run_http() {
    local name=$1 port target out t0 t1 s0 s1 reqs cpu
    shift
    port=$(free_port)
    start_server "$port" "$@" --port "$port" --public bench/data
    for target in /small.html /hello; do
        # Warm-up (caches, first-touch pages), then the measured window.
        client /dev/null wrk -t1 -c"$HTTP_CONNS" -d1s "http://127.0.0.1:$port$target"
        t0=$(cpu_ticks "$SERVER_PID") s0=$(steal_ticks)
        client "$BENCH_TMP/wrk.out" wrk -t1 -c"$HTTP_CONNS" -d"${HTTP_SECONDS}s" "http://127.0.0.1:$port$target"
        t1=$(cpu_ticks "$SERVER_PID") s1=$(steal_ticks)
        warn_steal "$name $target" $((s1 - s0)) "$HTTP_SECONDS"
        server_alive
        out=$(<"$BENCH_TMP/wrk.out")
        if grep -q "Non-2xx" <<<"$out"; then
            echo "bench: $name $target answered errors:" >&2
            echo "$out" >&2
            return 1
        fi
        grep -q "Socket errors" <<<"$out" && echo "bench: $name $target: $(grep 'Socket errors' <<<"$out")" >&2
        reqs=$(awk '/requests in/ {print $1}' <<<"$out")
        cpu=$(ticks_to_s $((t1 - t0)))
        record "http $target" "$name" \
            "rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
            "cpu_s=$cpu" \
            "req_per_cpu_s=$(awk -v r="$reqs" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? r / c : 0)}')" \
            "us_per_req=$(awk -v r="$reqs" -v c="$cpu" 'BEGIN {printf "%.2f", (r > 0 ? c * 1e6 / r : 0)}')" \
            "rss_kb=$(hwm_kb "$SERVER_PID")"
    done
    stop_server
}

read -ra sio_http <<<"${BENCH_SIO_HTTP:-build/sio-fixture http}"
for _ in $(seq "$HTTP_REPEAT"); do
    run_http libsio "${sio_http[@]}"
    run_http node node bench/node-http.mjs
done
