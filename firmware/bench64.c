/* bench.c's compute workload in long mode (bench/interp.sh: compute64). */
#define BENCH_LONG_MODE
#include "bench.c"
