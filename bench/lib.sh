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

# wait_port PORT [PID]: until something accepts on PORT (10 s); fails early if PID exits.
wait_port() {
    local port=$1 pid=${2:-} i
    for i in $(seq 1 500); do
        (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            echo "bench: the server exited before listening on $port" >&2
            return 1
        fi
        sleep 0.02
    done
    echo "bench: nothing listens on $port" >&2
    return 1
}

# start_server PORT CMD... : start CMD pinned to the server core; sets SERVER_PID.
# taskset execs CMD, so SERVER_PID is the server's own pid.
start_server() {
    local port=$1
    shift
    taskset -c "$SERVER_CORE" "$@" >/dev/null 2>"$BENCH_TMP/server.log" &
    SERVER_PID=$!
    if ! wait_port "$port" "$SERVER_PID"; then
        echo "bench: failed to start: $*" >&2
        cat "$BENCH_TMP/server.log" >&2
        stop_server
        return 1
    fi
}

# client OUT CMD...: run the load generator pinned to the client core, its stdout into OUT.
# It runs in the background and is waited for, so a signal to bench/run acts at once
# (bash defers traps while a foreground child runs); stop_server also ends it.
CLIENT_PID=
client() {
    local out=$1
    shift
    taskset -c "$CLIENT_CORE" "$@" >"$out" &
    CLIENT_PID=$!
    local rc=0
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=
    return "$rc"
}

# SIGTERM, then SIGKILL if the server is still there after 5 s.
stop_server() {
    if [[ -n $CLIENT_PID ]]; then
        kill -TERM "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=
    fi
    [[ -n $SERVER_PID ]] || return 0
    local pid=$SERVER_PID i
    SERVER_PID=
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 250); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# server_alive: fails, with a message, if the server under test has exited.
server_alive() {
    kill -0 "$SERVER_PID" 2>/dev/null && return 0
    echo "bench: the server exited during the run" >&2
    cat "$BENCH_TMP/server.log" >&2
    return 1
}

# CPU ticks (user + system) of a process so far.
cpu_ticks() {
    # Fields 14 and 15 of /proc/PID/stat; the process name (field 2) has no spaces here.
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# Steal ticks of the server core so far (time the hypervisor gave to someone else).
steal_ticks() {
    awk -v c="cpu$SERVER_CORE" '$1 == c {print $9}' /proc/stat
}

# warn_steal LABEL TICKS SECONDS: a note on stderr when over 2% of the window was stolen
# from the server core; such a point is noisy, run again or raise BENCH_REPEAT.
warn_steal() {
    awk -v l="$1" -v t="$2" -v s="$3" -v hz="$TICK" 'BEGIN {
        p = 100 * t / hz / s
        if (p > 2) printf "bench: %s: %.0f%% of the server core was stolen by the hypervisor\n", l, p > "/dev/stderr"
    }'
}

# warn_others LABEL SERVER_CORE_TICKS CLIENT_CORE_TICKS SECONDS: a note on stderr when
# other processes used over 5% of the server's or the load generator's core during the
# window (ticks a load generator counted from /proc/stat less its own and the server's).
warn_others() {
    awk -v l="$1" -v s="$2" -v c="$3" -v w="$4" -v hz="$TICK" 'BEGIN {
        ps = 100 * s / hz / w; pc = 100 * c / hz / w
        if (ps > 5 || pc > 5) printf "bench: %s: other processes used %.0f%% of the server core and %.0f%% of the load generator core\n", l, ps, pc > "/dev/stderr"
    }'
}

rss_kb() {
    awk '/^VmRSS/ {print $2}' "/proc/$1/status"
}

hwm_kb() {
    awk '/^VmHWM/ {print $2}' "/proc/$1/status"
}

# json_get FILE KEY: a top-level value of the JSON object in FILE (a load generator's
# output line); fails if the key is missing.
json_get() {
    node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        if (!(process.argv[2] in o)) { console.error(`bench: no ${process.argv[2]} in ${JSON.stringify(o)}`); process.exit(1); }
        console.log(o[process.argv[2]])' "$1" "$2"
}

ticks_to_s() {
    awk -v t="$1" -v hz="$TICK" 'BEGIN {printf "%.3f", t / hz}'
}

# record CASE SERVER KEY=VALUE... : one JSON line into the current case file's records
# ($BENCH_RECORDS, set by bench/run). VALUE is JSON (numbers as they are).
record() {
    local case=$1 server=$2
    shift 2
    local json="{\"case\":\"$case\",\"server\":\"$server\""
    local kv
    for kv in "$@"; do
        json+=",\"${kv%%=*}\":${kv#*=}"
    done
    echo "$json}" >>"$BENCH_RECORDS"
}
