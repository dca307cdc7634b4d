#!/usr/bin/env bash
# The benchmark command of Peeper for C++: builds the release preset, runs the
# benchmarks of issue 2 (runtime and GenServer) and rewrites the "Runtime and
# GenServer (issue 2)" section of bench/RESULTS.md with their medians.
#
#   scripts/bench.sh
#
# Environment: PEEPER_BENCH_REPETITIONS (default 5) sets the repetitions of
# every Google Benchmark and the runs of every table program; PEEPER_JOBS
# (default 2) the build parallelism. The raw outputs stay in
# build/release/bench-results/; PEEPER_BENCH_REPORT_ONLY=1 skips the build and
# the runs and rewrites the section from those outputs. Takes about 5 minutes
# on 2 cores; run it on an otherwise idle machine (the section records the
# load average; on a shared machine, `nice -n -15 scripts/bench.sh` as root
# keeps other jobs from skewing the figures, and the section records the niceness).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
reps=${PEEPER_BENCH_REPETITIONS:-5}
jobs=${PEEPER_JOBS:-2}
bin="$root/build/release/bench"
raw="$root/build/release/bench-results"
results="$root/bench/RESULTS.md"

# ---- measuring ---------------------------------------------------------------------------

table_runs() {  # name, then runtime_memory_table's arguments: one fresh process per run
  local name=$1
  shift
  echo "== runtime_memory_table $* (${reps} runs)"
  for ((i = 1; i <= reps; ++i)); do
    "$bin/runtime_memory_table" "$@" | tee -a "$raw/$name.txt" | grep '^result' || true
  done
}

measure() {
  echo "$reps" >"$raw/repetitions"
  date -u '+%Y-%m-%d %H:%M UTC' >"$raw/date"
  echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- include src || echo ' (with uncommitted library changes)')" \
    >"$raw/commit"
  nice >"$raw/niceness"
  cut -d' ' -f1-3 /proc/loadavg >"$raw/load_before"
  for program in runtime_bench gen_server_bench; do
    echo "== $program (${reps} repetitions)"
    "$bin/$program" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
      --benchmark_out="$raw/$program.json" --benchmark_out_format=json
  done
  table_runs memory_bare --kind bare
  table_runs memory_server --kind server
  table_runs ping_bare --kind bare --ping
  table_runs ping_server --kind server --ping
  echo "== heap blocks per process"
  "$bin/runtime_memory_table" --kind bare --processes 100000 --allocations >"$raw/allocations_bare.txt"
  "$bin/runtime_memory_table" --kind server --processes 100000 --allocations >"$raw/allocations_server.txt"
  cut -d' ' -f1-3 /proc/loadavg >"$raw/load_after"
}

if [[ ${PEEPER_BENCH_REPORT_ONLY:-0} != 1 ]]; then
  load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
  scripts/install-deps.sh
  cmake --preset release >/dev/null
  # Only the programs this script runs: another layer's benchmark must not stop these.
  cmake --build --preset release -j"$jobs" --target runtime_bench gen_server_bench runtime_memory_table
  rm -rf "$raw"
  mkdir -p "$raw"
  echo "$load_at_start" >"$raw/load_at_start"
  measure
fi
reps=$(cat "$raw/repetitions")
niceness=$(cat "$raw/niceness")
run_date=$(cat "$raw/date")
commit=$(cat "$raw/commit")
load_at_start=$(cat "$raw/load_at_start")
load_before=$(cat "$raw/load_before")
load_after=$(cat "$raw/load_after")

# ---- extraction -------------------------------------------------------------------------

# bm <program> <benchmark name without "/real_time"> <field>: the median's field
# (real_time in the benchmark's unit, or items_per_second).
bm() {
  awk -v want="\"$2/real_time_median\"," -v field="\"$3\":" '
    $1 == "\"name\":" { hit = ($2 == want) }
    hit && $1 == field { v = $2; sub(/,$/, "", v); print v + 0; exit }
  ' "$raw/$1.json"
}
# bm_cv <program> <benchmark name>: the coefficient of variation of its real time, in %.
bm_cv() {
  awk -v want="\"$2/real_time_cv\"," '
    $1 == "\"name\":" { hit = ($2 == want) }
    hit && $1 == "\"real_time\":" { v = $2; sub(/,$/, "", v); printf "%.0f%%", v * 100; exit }
  ' "$raw/$1.json"
}

# tbl_values <name> <key>: the values of key=value over the runs' "result" lines, sorted.
tbl_values() { grep '^result' "$raw/$1.txt" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }' | sort -g; }
# tbl <name> <key>: their median.
tbl() {
  tbl_values "$1" "$2" | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } m = int((NR + 1) / 2);
                                 if (NR % 2) print v[m]; else print (v[m] + v[m + 1]) / 2 }'
}
# tbl_spread <name> <key>: (max - min) / median, in %.
tbl_spread() {
  local median
  median=$(tbl "$1" "$2")
  tbl_values "$1" "$2" | awk -v m="$median" 'NR == 1 { lo = $1 } { hi = $1 }
    END { if (m > 0) printf "%.0f%%", (hi - lo) / m * 100; else printf "n/a" }'
}

# calc <awk expression> [printf format, default %.0f]
calc() { awk "BEGIN { printf \"${2:-%.0f}\", $1 }"; }
met() { if awk "BEGIN { exit !($1) }"; then echo "yes"; else echo "**no**"; fi; }
M() { calc "$1 / 1e6" "%.2f"; }
row() { echo "| $1 | $2 | $3 | $4 | $5 | $6 |"; }  # metric, median, spread, target, met?, Erlang
# versus <ratio of ours to Erlang's speed>: "2.1× faster" or "1.4× slower".
versus() { awk -v r="$1" 'BEGIN { if (r >= 1) printf "%.1f× faster", r; else printf "%.1f× slower", 1 / r }'; }

rb=runtime_bench
gb=gen_server_bench
n_round=bm_send_receive_round_trip/iterations:2000000
n_call=bm_call_from_process/default_timeout:1/iterations:1000000
n_call_inf=bm_call_from_process/default_timeout:0/iterations:1000000
n_call_thread=bm_call_from_thread/iterations:200000
n_cast_p1=bm_cast_from_processes/senders:1/iterations:4000000
n_cast_p2=bm_cast_from_processes/senders:2/iterations:4000000
n_cast_t1=bm_cast_from_threads/senders:1/iterations:4000000
n_cast_t2=bm_cast_from_threads/senders:2/iterations:4000000
n_spawn1=bm_spawn_exit/spawner_processes:1/iterations:2000000
n_spawn2=bm_spawn_exit/spawner_processes:2/iterations:2000000
n_spawn_out=bm_spawn_exit_from_outside/iterations:1000000
n_skynet=bm_skynet/iterations:1
n_timer=bm_timer_start_cancel/iterations:1000000

rt_round=$(bm $rb $n_round real_time)
call_proc=$(bm $gb $n_call real_time)
call_proc_inf=$(bm $gb $n_call_inf real_time)
call_thread=$(bm $gb $n_call_thread real_time)
cast_p1=$(bm $gb $n_cast_p1 items_per_second)
cast_p2=$(bm $gb $n_cast_p2 items_per_second)
cast_t1=$(bm $gb $n_cast_t1 items_per_second)
cast_t2=$(bm $gb $n_cast_t2 items_per_second)
spawn1=$(bm $rb $n_spawn1 items_per_second)
spawn2=$(bm $rb $n_spawn2 items_per_second)
spawn_out=$(bm $rb $n_spawn_out items_per_second)
skynet=$(bm $rb $n_skynet real_time)
timer=$(bm $rb $n_timer real_time)
mem_bare=$(tbl memory_bare bytes_per_process)
mem_server=$(tbl memory_server bytes_per_process)

# Erlang/OTP 25 on this machine, from issue 2.
erl_call_ns=1300
erl_spawn_per_s=600000
erl_bytes=2600

{
  echo "Produced by \`scripts/bench.sh\` on $run_date at commit $commit:"
  echo "$reps repetitions of each Google Benchmark (\`--benchmark_repetitions=$reps\`) and $reps fresh runs"
  echo "of each \`runtime_memory_table\` configuration; medians shown. Spread: the coefficient of"
  echo "variation over the repetitions, or (max - min) / median over the runs. Every runtime is"
  echo "\`peeper::runtime{runtime_options{.threads = 2}}\`."
  echo "Machine: $(nproc) × $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)."
  echo "Load average (1, 5, 15 min): $load_at_start before the build, $load_before after it,"
  echo "$load_after at the end; niceness $niceness."
  echo
  row "Metric" "Median" "Spread" "Target" "Met?" "Erlang/OTP 25 here"
  row "---" "---" "---" "---" "---" "---"
  row "call round trip, process → GenServer (\`co_await async_call\`, default 5 s timeout)" \
    "$(calc "$call_proc") ns" "$(bm_cv $gb $n_call)" "≤ 200 ns" "$(met "$call_proc <= 200")" \
    "1.3 µs: $(versus "$(calc "$erl_call_ns / $call_proc" "%.4f")")"
  row "... of which: a 5 s timer started and cancelled by a process (\`send_after\` + \`cancel_timer\`)" \
    "$(calc "$timer") ns" "$(bm_cv $rb $n_timer)" "report" "" ""
  row "call round trip, process → GenServer (\`async_call(..., infinity)\`: no timer)" \
    "$(calc "$call_proc_inf") ns" "$(bm_cv $gb $n_call_inf)" "≤ 200 ns" "$(met "$call_proc_inf <= 200")" \
    "$(versus "$(calc "$erl_call_ns / $call_proc_inf" "%.4f")")"
  row "send/receive round trip between two coroutine processes" "$(calc "$rt_round") ns" \
    "$(bm_cv $rb $n_round)" "≤ 200 ns" "$(met "$rt_round <= 200")" ""
  row "call from an outside thread (\`peeper::call\`)" "$(calc "$call_thread / 1000" "%.1f") µs" \
    "$(bm_cv $gb $n_call_thread)" "≤ 5 µs" "$(met "$call_thread <= 5000")" ""
  row "casts to one server, 1 sender process, to completion" "$(M "$cast_p1") M/s" \
    "$(bm_cv $gb $n_cast_p1)" "≥ 20 M/s" "$(met "$cast_p1 >= 20e6")" ""
  row "casts to one server, 1 outside thread, to completion" "$(M "$cast_t1") M/s" \
    "$(bm_cv $gb $n_cast_t1)" "≥ 20 M/s" "$(met "$cast_t1 >= 20e6")" ""
  row "casts to one server, 2 sender processes, to completion" "$(M "$cast_p2") M/s" \
    "$(bm_cv $gb $n_cast_p2)" "report" "" ""
  row "casts to one server, 2 outside threads, to completion" "$(M "$cast_t2") M/s" \
    "$(bm_cv $gb $n_cast_t2)" "report" "" ""
  row "spawn + exit, 1 spawning process (until all exited)" "$(M "$spawn1") M/s" \
    "$(bm_cv $rb $n_spawn1)" "≥ 5 M/s" "$(met "$spawn1 >= 5e6")" \
    "0.6 M/s: $(versus "$(calc "$spawn1 / $erl_spawn_per_s" "%.4f")")"
  row "spawn + exit, 2 spawning processes" "$(M "$spawn2") M/s" "$(bm_cv $rb $n_spawn2)" "report" "" ""
  row "spawn + exit, spawned from an outside thread" "$(M "$spawn_out") M/s" "$(bm_cv $rb $n_spawn_out)" \
    "report" "" ""
  row "memory per idle process: coroutine blocked in \`receive()\` (RSS growth / 1 M)" "$mem_bare B" \
    "$(tbl_spread memory_bare bytes_per_process)" "≤ 256 B" "$(met "$mem_bare <= 256")" \
    "2.6 KB: $(calc "$erl_bytes / $mem_bare" "%.1f")× smaller"
  row "memory per idle process: GenServer, empty state (RSS growth / 1 M)" "$mem_server B" \
    "$(tbl_spread memory_server bytes_per_process)" "≤ 256 B" "$(met "$mem_server <= 256")" \
    "$(calc "$erl_bytes / $mem_server" "%.1f")× smaller"
  for kind in bare server; do
    if [[ $kind == bare ]]; then
      what="1 M coroutine processes alive, each pinged once (send + reply)"
    else
      what="1 M GenServers alive, each called once (\`async_call\`)"
    fi
    peak=$(tbl "ping_$kind" peak_rss_mb)
    row "$what: peak RSS" "$(calc "$peak") MB" "$(tbl_spread "ping_$kind" peak_rss_mb)" "≤ 1 GB" \
      "$(met "$peak <= 1000")" ""
    row "... time to create them, from one process" "$(tbl "ping_$kind" create_s) s" \
      "$(tbl_spread "ping_$kind" create_s)" "report" "" ""
    row "... time to ping each once, in turn, from one process" "$(tbl "ping_$kind" ping_s) s" \
      "$(tbl_spread "ping_$kind" ping_s)" "report" "" ""
    row "... time to shut the runtime down" "$(tbl "ping_$kind" shutdown_s) s" \
      "$(tbl_spread "ping_$kind" shutdown_s)" "report" "" ""
  done
  row "skynet, 1,111,111 processes (1 M leaves)" "$(calc "$skynet") ms" "$(bm_cv $rb $n_skynet)" "report" "" \
    "≈ 1 s: $(versus "$(calc "1000 / $skynet" "%.4f")")"
  echo
  echo "What the rows measure (sources: \`bench/runtime_bench.cpp\`, \`bench/gen_server_bench.cpp\`,"
  echo "\`bench/runtime_memory_table.cpp\`):"
  echo
  echo "- Round trips and casts are batches timed from the benchmark thread to completion: the last"
  echo "  reply received, or, for casts, each sender's final call answered (so every cast was handled)."
  echo "  The server is a GenServer with an \`int64\` counter; \`ping\` reads the state through \`const&\`."
  echo "- Spawn + exit counts until \`runtime::process_count()\` is back to 0 (the benchmark thread spins)."
  echo "- Memory: RSS growth (\`/proc/self/statm\`) of a fresh program over 1 M idle processes, created by"
  echo "  one process of the runtime; the ping runs subtract their \`std::vector<pid>\` of 8 B per process."
  echo "  The runtime of these runs has \`shutdown_timeout = 200 ms\`."
  echo "- Heap blocks per process while creating 100 k of them (\`runtime_memory_table --allocations\`):"
  echo
  echo '```'
  for kind in bare server; do
    awk -v kind="$kind" '/^heap blocks/ { on = 1; $0 = kind ": " $0 } on { print } /^  blocks allocated/ { on = 0 }' \
      "$raw/allocations_$kind.txt"
  done
  echo '```'
} >"$raw/section.md"

# ---- rewrite the issue-2 section of RESULTS.md ------------------------------------------
begin='<!-- issue-2: begin (generated by scripts/bench.sh) -->'
end='<!-- issue-2: end -->'
if [[ ! -f $results ]] || ! grep -qF "$begin" "$results"; then
  echo "scripts/bench.sh: $results lacks the issue-2 markers" >&2
  exit 1
fi
awk -v begin="$begin" -v end="$end" -v section="$raw/section.md" '
  $0 == begin { print; while ((getline line < section) > 0) print line; skip = 1; next }
  $0 == end { skip = 0 }
  !skip { print }
' "$results" >"$raw/RESULTS.md"
mv "$raw/RESULTS.md" "$results"
echo
cat "$raw/section.md"
echo
echo "scripts/bench.sh: rewrote the issue-2 section of bench/RESULTS.md"
