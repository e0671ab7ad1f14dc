# Engine.IO long-polling (EIO=4): message round trips per server CPU-second with
# BENCH_EIO_SESSIONS sessions each keeping one 32-byte text message in flight, and RSS per
# open session at BENCH_EIO_IDLE sessions; `sio-fixture eio` against the `engine.io`
# package configured the same (bench/node-eio.mjs). Both servers use the fixture's
# pingInterval 300 ms and pingTimeout 200 ms; BENCH_EIO_ARGS is appended to both commands.
EIO_SECONDS=${BENCH_SECONDS:-10}
EIO_SESSIONS=${BENCH_EIO_SESSIONS:-64}
EIO_IDLE=${BENCH_EIO_IDLE:-1000}
EIO_HOLD=${BENCH_EIO_HOLD:-3}
EIO_REPEAT=${BENCH_REPEAT:-1}
read -ra eio_args <<<"${BENCH_EIO_ARGS:-}"

# Two connections per session, in the load generator and in the server, plus spare.
if ((EIO_IDLE * 2 + 300 > $(ulimit -n))); then
    echo "bench: BENCH_EIO_IDLE=$EIO_IDLE needs $((EIO_IDLE * 2 + 300)) descriptors per process, the limit is $(ulimit -n)" >&2
    exit 1
fi

# eio_errors NAME OUTFILE WHAT: a note on stderr for every error the load generator counted.
eio_errors() {
    local errors
    errors=$(json_get "$2" errors)
    if [[ $errors != 0 ]]; then
        echo "bench: $1 $3: $errors errors ($(json_get "$2" closed_by_server) sessions closed by the server;" \
            "the first are above, the server's log is $BENCH_TMP/server-$1.log)" >&2
        cp "$BENCH_TMP/server.log" "$BENCH_TMP/server-$1.log"
    fi
}

run_eio() {
    local name=$1
    shift
    local port out=$BENCH_TMP/eio.out url n rt wall cpu
    port=$(free_port)
    url="http://127.0.0.1:$port/engine.io/"
    start_server "$port" "$@" --port "$port" "${eio_args[@]}"
    for n in $EIO_SESSIONS; do
        # The load generator reads the server's CPU ticks (and the steal, and the other
        # processes' ticks on both cores) itself around its window.
        client "$out" node bench/eio-poll-load.mjs echo "$url" "$SERVER_PID" "$n" "$EIO_SECONDS"
        warn_steal "$name eio echo x$n" "$(json_get "$out" steal_ticks_server_core)" "$EIO_SECONDS"
        warn_others "$name eio echo x$n" "$(json_get "$out" other_ticks_server_core)" \
            "$(json_get "$out" other_ticks_client_core)" "$EIO_SECONDS"
        server_alive
        eio_errors "$name" "$out" "echo x$n"
        rt=$(json_get "$out" rt)
        wall=$(json_get "$out" wall_s)
        cpu=$(ticks_to_s "$(json_get "$out" server_ticks)")
        record "eio polling echo x$n" "$name" \
            "rt_s=$(awk -v r="$rt" -v w="$wall" 'BEGIN {printf "%.0f", r / w}')" \
            "cpu_s=$cpu" \
            "rt_per_cpu_s=$(awk -v r="$rt" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? r / c : 0)}')" \
            "us_per_rt=$(awk -v r="$rt" -v c="$cpu" 'BEGIN {printf "%.2f", (r > 0 ? c * 1e6 / r : 0)}')" \
            "client_cpu=$(awk -v c="$(json_get "$out" client_cpu)" 'BEGIN {printf "%.0f", c * 100}')" \
            "dead=$(json_get "$out" dead)"
    done
    stop_server
    # Open sessions on a fresh server.
    port=$(free_port)
    url="http://127.0.0.1:$port/engine.io/"
    start_server "$port" "$@" --port "$port" "${eio_args[@]}"
    client "$out" node bench/eio-poll-load.mjs idle "$url" "$SERVER_PID" "$EIO_IDLE" "$EIO_HOLD"
    server_alive
    warn_steal "$name eio idle x$EIO_IDLE" "$(json_get "$out" steal_ticks_server_core)" "$EIO_HOLD"
    warn_others "$name eio idle x$EIO_IDLE" "$(json_get "$out" other_ticks_server_core)" \
        "$(json_get "$out" other_ticks_client_core)" "$EIO_HOLD"
    eio_errors "$name" "$out" "idle x$EIO_IDLE"
    local before after alive lost
    before=$(json_get "$out" rss_before_kb)
    after=$(json_get "$out" rss_after_kb)
    alive=$(json_get "$out" alive)
    lost=$(json_get "$out" lost)
    if ((lost == EIO_IDLE)); then
        echo "bench: $name: every session was closed during the hold" >&2
        return 1
    fi
    if [[ $alive != "$EIO_IDLE" ]]; then
        echo "bench: $name: $alive of $EIO_IDLE sessions echoed after the hold ($lost closed during it)" >&2
    fi
    # Per session held when the RSS was read.
    record "eio polling idle x$EIO_IDLE" "$name" "sessions=$((EIO_IDLE - lost))" "rss_kb=$after" \
        "rss_per_session=$(( (after - before) * 1024 / (EIO_IDLE - lost) ))" \
        "hold_cpu=$(awk -v t="$(json_get "$out" hold_ticks)" -v hz="$TICK" -v s="$EIO_HOLD" 'BEGIN {printf "%.0f", 100 * t / hz / s}')" \
        "alive=$alive"
    stop_server
}

for _ in $(seq "$EIO_REPEAT"); do
    run_eio libsio "${BENCH_SIO_FIXTURE:-build/sio-fixture}" eio
    run_eio node node bench/node-eio.mjs
done
