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
# build/release/bench-results/. Takes about 5 minutes on 2 cores; run it on
# an otherwise idle machine (the section records the load average).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
reps=${PEEPER_BENCH_REPETITIONS:-5}
jobs=${PEEPER_JOBS:-2}
bin="$root/build/release/bench"
raw="$root/build/release/bench-results"
results="$root/bench/RESULTS.md"

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
rm -rf "$raw"
mkdir -p "$raw"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- Google Benchmark programs --------------------------------------------------------
for program in runtime_bench gen_server_bench; do
  echo "== $program (${reps} repetitions)"
  "$bin/$program" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_out="$raw/$program.json" --benchmark_out_format=json
done

# ---- table programs: one fresh process per run ----------------------------------------
table_runs() {  # name, then the program's arguments
  local name=$1
  shift
  echo "== runtime_memory_table $* (${reps} runs)"
  for ((i = 1; i <= reps; ++i)); do
    "$bin/runtime_memory_table" "$@" | tee -a "$raw/$name.txt" | grep '^result' || true
  done
}
table_runs memory_bare --kind bare
table_runs memory_server --kind server
table_runs ping_bare --kind bare --ping
table_runs ping_server --kind server --ping
echo "== heap blocks per process"
"$bin/runtime_memory_table" --kind bare --processes 100000 --allocations >"$raw/allocations_bare.txt"
"$bin/runtime_memory_table" --kind server --processes 100000 --allocations >"$raw/allocations_server.txt"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- extraction -------------------------------------------------------------------------

# bm <program> <benchmark name without "/real_time"> <field>: the median's field
# (real_time in the benchmark's unit, or items_per_second).
bm() {
  awk -v want="\"$2/real_time_median\"," -v field="\"$3\":" '
    $1 == "\"name\":" { hit = ($2 == want) }
    hit && $1 == field { v = $2; sub(/,$/, "", v); print v + 0; exit }
  ' "$raw/$1.json"
}

# tbl <name> <key>: the median over the runs of key=value in the "result" lines.
tbl() {
  grep '^result' "$raw/$1.txt" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } m = int((NR + 1) / 2);
           if (NR % 2) print v[m]; else print (v[m] + v[m + 1]) / 2 }'
}

# calc <awk expression>: evaluates with awk, printed with printf format $2 (default %.0f).
calc() { awk "BEGIN { printf \"${2:-%.0f}\", $1 }"; }
met() { if awk "BEGIN { exit !($1) }"; then echo "yes"; else echo "**no**"; fi; }

rt_round=$(bm runtime_bench bm_send_receive_round_trip/iterations:2000000 real_time)
call_proc=$(bm gen_server_bench bm_call_from_process/default_timeout:1/iterations:1000000 real_time)
call_proc_inf=$(bm gen_server_bench bm_call_from_process/default_timeout:0/iterations:1000000 real_time)
call_thread=$(bm gen_server_bench bm_call_from_thread/iterations:200000 real_time)
cast_p1=$(bm gen_server_bench bm_cast_from_processes/senders:1/iterations:4000000 items_per_second)
cast_p2=$(bm gen_server_bench bm_cast_from_processes/senders:2/iterations:4000000 items_per_second)
cast_t1=$(bm gen_server_bench bm_cast_from_threads/senders:1/iterations:4000000 items_per_second)
cast_t2=$(bm gen_server_bench bm_cast_from_threads/senders:2/iterations:4000000 items_per_second)
spawn1=$(bm runtime_bench bm_spawn_exit/spawner_processes:1/iterations:2000000 items_per_second)
spawn2=$(bm runtime_bench bm_spawn_exit/spawner_processes:2/iterations:2000000 items_per_second)
spawn_out=$(bm runtime_bench bm_spawn_exit_from_outside/iterations:1000000 items_per_second)
skynet=$(bm runtime_bench bm_skynet/iterations:1 real_time)
mem_bare=$(tbl memory_bare bytes_per_process)
mem_server=$(tbl memory_server bytes_per_process)

# Erlang/OTP 25 on this machine, from issue 2.
erl_call_ns=1300
erl_spawn_per_s=600000
erl_bytes=2600

M() { calc "$1 / 1e6" "%.2f"; }

{
  echo "Produced by \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit" \
    "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- include src || echo ' (with uncommitted library changes)'):"
  echo "$reps repetitions of each Google Benchmark (\`--benchmark_repetitions=$reps\`, medians shown) and"
  echo "$reps fresh runs of each \`runtime_memory_table\` configuration (medians shown). Every runtime is"
  echo "\`peeper::runtime{runtime_options{.threads = 2}}\`. Machine: $(nproc) × $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r);" \
    "load average $load_before before, $load_after after."
  echo
  echo "| Metric | Median | Target | Met? | Erlang/OTP 25 here |"
  echo "|---|---|---|---|---|"
  echo "| call round trip, process → GenServer (\`co_await async_call\`, default 5 s timeout) | $(calc "$call_proc") ns | ≤ 200 ns | $(met "$call_proc <= 200") | 1.3 µs: $(calc "$erl_call_ns / $call_proc" "%.1f")× faster |"
  echo "| call round trip, process → GenServer (\`async_call(..., infinity)\`: no timer) | $(calc "$call_proc_inf") ns | ≤ 200 ns | $(met "$call_proc_inf <= 200") | $(calc "$erl_call_ns / $call_proc_inf" "%.1f")× faster |"
  echo "| send/receive round trip between two coroutine processes | $(calc "$rt_round") ns | ≤ 200 ns | $(met "$rt_round <= 200") | |"
  echo "| call from an outside thread (\`peeper::call\`) | $(calc "$call_thread / 1000" "%.1f") µs | ≤ 5 µs | $(met "$call_thread <= 5000") | |"
  echo "| casts to one server, 1 sender process, to completion | $(M "$cast_p1") M/s | ≥ 20 M/s | $(met "$cast_p1 >= 20e6") | |"
  echo "| casts to one server, 1 outside thread, to completion | $(M "$cast_t1") M/s | ≥ 20 M/s | $(met "$cast_t1 >= 20e6") | |"
  echo "| casts to one server, 2 sender processes, to completion | $(M "$cast_p2") M/s | report | | |"
  echo "| casts to one server, 2 outside threads, to completion | $(M "$cast_t2") M/s | report | | |"
  echo "| spawn + exit, 1 spawning process (until all exited) | $(M "$spawn1") M/s | ≥ 5 M/s | $(met "$spawn1 >= 5e6") | 0.6 M/s: $(calc "$spawn1 / $erl_spawn_per_s" "%.1f")× faster |"
  echo "| spawn + exit, 2 spawning processes | $(M "$spawn2") M/s | report | | |"
  echo "| spawn + exit, spawned from an outside thread | $(M "$spawn_out") M/s | report | | |"
  echo "| memory per idle process: coroutine blocked in \`receive()\` (RSS growth / 1 M) | $mem_bare B | ≤ 256 B | $(met "$mem_bare <= 256") | 2.6 KB: $(calc "$erl_bytes / $mem_bare" "%.1f")× smaller |"
  echo "| memory per idle process: GenServer, empty state (RSS growth / 1 M) | $mem_server B | ≤ 256 B | $(met "$mem_server <= 256") | $(calc "$erl_bytes / $mem_server" "%.1f")× smaller |"
  for kind in bare server; do
    if [[ $kind == bare ]]; then what="1 M coroutine processes alive, each pinged once (send + reply)"; else
      what="1 M GenServers alive, each called once (\`async_call\`)"; fi
    peak=$(tbl "ping_$kind" peak_rss_mb)
    echo "| $what: peak RSS | $(calc "$peak") MB | ≤ 1 GB | $(met "$peak <= 1000") | |"
    echo "| ... time to create them, one creator process | $(tbl "ping_$kind" create_s) s | report | | |"
    echo "| ... time to ping each once, in turn, from one process | $(tbl "ping_$kind" ping_s) s | report | | |"
    echo "| ... time to shut the runtime down | $(tbl "ping_$kind" shutdown_s) s | report | | |"
  done
  echo "| skynet, 1,111,111 processes (1 M leaves) | $(calc "$skynet") ms | report | | ≈ 1 s: $(calc "1000 / $skynet" "%.1f")× faster |"
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
