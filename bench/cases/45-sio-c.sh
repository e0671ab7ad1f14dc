# Socket.IO with the C load generator (build/sio-bench): `sio-fixture bench` against
# bench/node-reference.mjs (socket.io with the same handlers), the server on one core and
# sio-bench on the other. The points of issue 8's targets:
#   idle       RSS per WebSocket connection at 1,000, 5,000, 10,000 and the most the
#              descriptor limit allows; the 10k and top points hold 26 s, past every
#              connection's first ping (25 s), and every ping must be answered
#   echo-ack   closed loop (saturation) 8x16 and 8x1: server CPU per ack
#   latency    open loop at a ladder of rates (latency vs rate), and both servers at half
#              of Node's closed-loop saturation rate: p99
#   broadcast  1 -> 1000 receivers, 1000 emits/s, 64 B: server CPU per delivery
#   rooms      1000 receivers in 10 rooms, 1000 emits/s: server CPU per delivery
#   handshake  16 under way at once: server CPU per handshake
#   polling    echo-ack closed loop and handshakes over long-polling
# Besides the records it writes bench/results/<date>-latency.png and -rss.png (gnuplot).
SC_SECONDS=${BENCH_SECONDS:-5}
SC_HOLD=${BENCH_SIO_HOLD:-26}
SC_MAX=$(($(ulimit -n) - 100))
[[ $SC_MAX -gt 19900 ]] && SC_MAX=19900
SC_RATES=${BENCH_SIO_RATES:-"2000 5000 10000 20000 40000 80000 160000"}
SC_PLOT=$BENCH_TMP/plot
mkdir -p "$SC_PLOT"

sc_bench() { # OUT ARGS...: sio-bench on the client core against the current server
    local out=$1
    shift
    client "$out" build/sio-bench --port "$SC_PORT" --server-pid "$SERVER_PID" "$@"
    server_alive
}

sc_start() { # NAME: a fresh server
    SC_PORT=$(free_port)
    if [[ $1 == libsio ]]; then
        start_server "$SC_PORT" "${BENCH_SIO_FIXTURE:-build/sio-fixture}" bench --port "$SC_PORT"
    else
        start_server "$SC_PORT" node bench/node-reference.mjs --port "$SC_PORT"
    fi
}

sc_get() { json_get "$1" "$2"; }

sc_idle() { # NAME N HOLD
    local name=$1 n=$2 hold=$3 out=$BENCH_TMP/sc.out before after pings
    sc_start "$name"
    # Warm-up: the code and pages the first connections touch are not charged per connection.
    sc_bench "$out" --scenario idle --connections 200 --seconds 0.5
    sleep 1
    sc_bench "$out" --scenario idle --connections "$n" --seconds "$hold" --sources 4
    before=$(sc_get "$out" rss_before_kb)
    after=$(sc_get "$out" rss_after_kb)
    pings=$(sc_get "$out" pings)
    if ((hold >= 25)) && [[ $pings != "$n" ]]; then
        echo "bench: $name answered $pings pings of $n idle connections" >&2
        return 1
    fi
    record "idle ws x$n" "$name" "connections=$n" "pings=$pings" "rss_kb=$after" \
        "rss_per_conn=$(((after - before) * 1024 / n))"
    echo "$n $(awk -v a="$after" 'BEGIN {printf "%.1f", a / 1024}')" >>"$SC_PLOT/rss-$name.dat"
    stop_server
}

sc_ack_record() { # CASE NAME OUT
    local acks cpu
    acks=$(sc_get "$3" acks)
    cpu=$(ticks_to_s "$(sc_get "$3" server_ticks)")
    record "$1" "$2" "msg_s=$(sc_get "$3" acks_per_s)" "cpu_s=$cpu" \
        "msg_per_cpu_s=$(awk -v m="$acks" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')" \
        "us_per_msg=$(sc_get "$3" server_us_per_ack)" \
        "p50_us=$(sc_get "$3" p50_us)" "p99_us=$(sc_get "$3" p99_us)"
}

sc_delivery_record() { # CASE NAME OUT
    local d cpu
    d=$(sc_get "$3" deliveries)
    cpu=$(ticks_to_s "$(sc_get "$3" server_ticks)")
    record "$1" "$2" "msg_s=$(sc_get "$3" deliveries_per_s)" "cpu_s=$cpu" \
        "msg_per_cpu_s=$(awk -v m="$d" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')" \
        "us_per_msg=$(sc_get "$3" server_us_per_delivery)"
}

sc_load() { # NAME: every point but idle, on one server
    local name=$1 out=$BENCH_TMP/sc.out spec c w rate got
    sc_start "$name"
    for spec in "8 16" "8 1"; do
        read -r c w <<<"$spec"
        sc_bench "$out" --scenario echo-ack --connections "$c" --window "$w" --seconds "$SC_SECONDS"
        sc_ack_record "echo-ack ${c}x$w (saturation)" "$name" "$out"
        [[ $w == 16 ]] && echo "$(sc_get "$out" acks_per_s)" >"$SC_PLOT/sat-$name"
    done
    for rate in $SC_RATES; do
        sc_bench "$out" --scenario echo-ack --connections 8 --rate "$rate" --seconds 3 || true
        got=$(sc_get "$out" acks_per_s)
        echo "$rate $(sc_get "$out" p50_us) $(sc_get "$out" p99_us) $got" >>"$SC_PLOT/lat-$name.dat"
        # Past saturation: the rest of the ladder only measures a backlog.
        awk -v g="$got" -v r="$rate" 'BEGIN {exit !(g < 0.9 * r)}' && break
        (($(sc_get "$out" p99_us) > 100000)) && break
    done
    sc_bench "$out" --scenario broadcast --connections 1000 --rate 1000 --payload-size 64 \
        --seconds "$SC_SECONDS"
    sc_delivery_record "broadcast 1→1000, 1000/s, 64 B" "$name" "$out"
    sc_bench "$out" --scenario rooms --connections 1000 --rooms 10 --rate 1000 --seconds "$SC_SECONDS"
    sc_delivery_record "rooms 1000 in 10, 1000/s" "$name" "$out"
    sc_bench "$out" --scenario handshake --connections 16 --seconds "$SC_SECONDS" --sources 4
    sc_handshake_record "handshake ws x16" "$name" "$out"
    sc_bench "$out" --scenario echo-ack --transport polling --connections 8 --window 4 \
        --seconds "$SC_SECONDS"
    sc_ack_record "polling echo-ack 8x4 (saturation)" "$name" "$out"
    sc_bench "$out" --scenario handshake --transport polling --connections 16 \
        --seconds "$SC_SECONDS" --sources 4
    sc_handshake_record "handshake polling x16" "$name" "$out"
    stop_server
}

sc_handshake_record() { # CASE NAME OUT
    local h cpu
    h=$(sc_get "$3" handshakes)
    cpu=$(ticks_to_s "$(sc_get "$3" server_ticks)")
    record "$1" "$2" "conn_s=$(sc_get "$3" handshakes_per_s)" "cpu_s=$cpu" \
        "conn_per_cpu_s=$(awk -v m="$h" -v c="$cpu" 'BEGIN {printf "%.0f", (c > 0 ? m / c : 0)}')" \
        "us_per_conn=$(sc_get "$3" server_us_per_handshake)" "p99_us=$(sc_get "$3" p99_us)"
}

sc_half() { # NAME RATE: open loop at half of Node's saturation
    local out=$BENCH_TMP/sc.out
    sc_start "$1"
    sc_bench "$out" --scenario echo-ack --connections 8 --rate "$2" --warmup 2 --seconds "$SC_SECONDS"
    record "echo-ack 8 conns at $2/s (half Node's saturation)" "$1" \
        "msg_s=$(sc_get "$out" acks_per_s)" "us_per_msg=$(sc_get "$out" server_us_per_ack)" \
        "p50_us=$(sc_get "$out" p50_us)" "p99_latency_us=$(sc_get "$out" p99_us)"
    stop_server
}

for SC_NAME in libsio node; do
    sc_load "$SC_NAME"
done
SC_HALF=$(awk '{printf "%d", $1 / 2}' "$SC_PLOT/sat-node")
for SC_NAME in libsio node; do
    sc_half "$SC_NAME" "$SC_HALF"
done
for SC_N in 1000 5000 10000 "$SC_MAX"; do
    SC_H=2
    [[ $SC_N -ge 10000 ]] && SC_H=$SC_HOLD
    for SC_NAME in libsio node; do
        sc_idle "$SC_NAME" "$SC_N" "$SC_H"
    done
done

# Plots.
if command -v gnuplot >/dev/null; then
    gnuplot <<EOF
set terminal pngcairo size 900,560 font "sans,10"
set output "bench/results/$BENCH_DATE-latency.png"
set title "echo-ack latency vs offered rate (8 WebSocket connections, open loop)"
set xlabel "offered emits per second"
set ylabel "latency, microseconds"
set logscale xy
set key top left
set grid
plot "$SC_PLOT/lat-libsio.dat" using 1:2 with linespoints title "libsio p50", \
     "$SC_PLOT/lat-libsio.dat" using 1:3 with linespoints title "libsio p99", \
     "$SC_PLOT/lat-node.dat" using 1:2 with linespoints title "Node p50", \
     "$SC_PLOT/lat-node.dat" using 1:3 with linespoints title "Node p99"
set output "bench/results/$BENCH_DATE-rss.png"
set title "server RSS vs idle WebSocket connections (after a 200-connection warm-up)"
set xlabel "connections"
set ylabel "RSS, MiB"
unset logscale
set key top left
plot "$SC_PLOT/rss-libsio.dat" using 1:2 with linespoints title "libsio", \
     "$SC_PLOT/rss-node.dat" using 1:2 with linespoints title "Node"
EOF
    cp "$SC_PLOT/lat-libsio.dat" "bench/results/$BENCH_DATE-latency-libsio.dat"
    cp "$SC_PLOT/lat-node.dat" "bench/results/$BENCH_DATE-latency-node.dat"
else
    echo "bench: gnuplot not found: no plots (scripts/bootstrap installs gnuplot-nox)" >&2
fi
