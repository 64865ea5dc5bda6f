// The engine's worker threads: a fixed pool whose workers wait for the next parallel region by
// spinning for a short while before they sleep, so that handing a region to them does not wait for a
// thread to wake up (50–60 µs on a 2-vCPU virtual machine, where a 576 × 128 → 128 product split over
// two cores through Dispatch ran no faster than on one; docs/benchmarks.md, "Handing work to the cores").
// Used only by `Parallel` in Tensors.
#ifndef GPD_CTHREADS_H
#define GPD_CTHREADS_H

/// One index of a parallel region: task(context, index).
typedef void (*gpd_pool_task)(void *context, long index);

/// Starts `workers` threads (once per process; later calls return at once). They stay for the
/// process's life. Returns the number of pool workers running (0 when none could start).
long gpd_pool_start(long workers);

/// Runs task(context, i) for every i in 0..<count, on the calling thread and the pool's workers, each
/// index exactly once (taken in increasing order by whichever thread is free); returns when all have
/// finished. Returns 0; returns -1 without running anything when the pool cannot take the region —
/// no workers, another thread's region in progress, or the caller is itself one of the pool's tasks —
/// and the caller must run the indices another way.
int gpd_pool_run(long count, gpd_pool_task task, void *context);

/// Puts spinning workers to sleep at once (they wake for the next region): for a caller about to
/// hand the cores to other threads (OpenBLAS's own), which spinning workers would slow down.
void gpd_pool_park(void);

/// Microseconds a worker spins for the next region before it sleeps.
extern const long gpd_pool_spin_microseconds;

#endif
