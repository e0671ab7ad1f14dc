# Helpers shared by the benchmark cases (sourced by bench/run).
# The server under test runs on core 0, the load generator on core 1; server CPU is read
# from /proc/PID/stat (utime + stime) around the measured window.

TICK=$(getconf CLK_TCK)
SERVER_CORE=${BENCH_SERVER_CORE:-0}
CLIENT_CORE=${BENCH_CLIENT_CORE:-1}
SERVER_PID=

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_port() {
    local port=$1 i
    for i in $(seq 1 500); do
        (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
        sleep 0.02
    done
    echo "bench: nothing listens on $port" >&2
    return 1
}

# start_server PORT CMD... : start CMD pinned to the server core; sets SERVER_PID.
start_server() {
    local port=$1
    shift
    taskset -c "$SERVER_CORE" "$@" >/dev/null 2>"$BENCH_TMP/server.log" &
    SERVER_PID=$!
    wait_port "$port" || { cat "$BENCH_TMP/server.log" >&2; return 1; }
}

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# CPU ticks (user + system) of a process so far.
cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

rss_kb() {
    awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

hwm_kb() {
    awk '/^VmHWM/ {print $2}' "/proc/$1/status"
}

ticks_to_s() {
    awk -v t="$1" -v hz="$TICK" 'BEGIN {printf "%.3f", t / hz}'
}

# record CASE SERVER KEY=VALUE... : one JSON line into the results stream.
record() {
    local case=$1 server=$2
    shift 2
    local json="{\"case\":\"$case\",\"server\":\"$server\""
    local kv
    for kv in "$@"; do
        json+=",\"${kv%%=*}\":${kv#*=}"
    done
    echo "$json}" >>"$BENCH_TMP/records.jsonl"
}
