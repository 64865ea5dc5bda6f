// The engine's worker pool (contract: include/CThreads.h).
//
// One region at a time. The submitter takes `submit` (a try-lock: a second submitter gets -1 and
// runs its region another way), writes the task, resets `done`, and publishes the region by storing
// `ticket` = (generation << 32) | 0. Every thread — the submitter included — then takes indices by
// compare-and-swap on `ticket`, which succeeds only while the generation is still the one it read,
// so a worker that arrives late (after the region finished and a new one was published) never runs
// an index of one region with the task of another: a region's task is only rewritten after all its
// indices were taken and finished. The submitter waits (spinning) until `done` reaches the count.
//
// Waiting workers spin on `ticket` with PAUSE for gpd_pool_spin_microseconds, then sleep on a
// condition variable; a submitter wakes sleepers only when `sleepers` says there are some (the
// ticket store and the sleepers load, and the worker's sleepers increment and ticket load, are
// sequentially consistent, so one side always sees the other).
#include "CThreads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RELAX() _mm_pause()
#else
#define RELAX() ((void)0)
#endif

const long gpd_pool_spin_microseconds = 200;

static _Atomic uint64_t ticket;            // generation << 32 | next index
static _Atomic long done;
static _Atomic long sleepers;
static _Atomic int parked;                 // generation at which spinners were told to sleep, + 1
// The region's task, written by its submitter before it publishes the ticket. Atomics (relaxed) only
// because a late worker may read them while the next submitter rewrites them; it then never uses them.
static _Atomic(gpd_pool_task) currentTask;
static _Atomic(void *) currentContext;
static _Atomic long currentCount;
static pthread_mutex_t submit = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sleepLock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static long started;
static pthread_once_t startOnce = PTHREAD_ONCE_INIT;
static long requestedWorkers;
static _Thread_local int insideTask;

static uint64_t nowNanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/// Runs indices of the region of generation `generation` until none is left.
static void takeIndices(uint32_t generation) {
    uint64_t t = atomic_load(&ticket);
    for (;;) {
        if ((uint32_t)(t >> 32) != generation) return;
        // The task is read before the index is claimed; the claim succeeding proves the region
        // was still unfinished, so the task read was this region's (see the header comment).
        gpd_pool_task task = atomic_load_explicit(&currentTask, memory_order_relaxed);
        void *context = atomic_load_explicit(&currentContext, memory_order_relaxed);
        long count = atomic_load_explicit(&currentCount, memory_order_relaxed);
        long index = (long)(t & 0xffffffffu);
        if (index >= count) return;
        if (!atomic_compare_exchange_weak(&ticket, &t, t + 1)) continue;   // t reloaded
        insideTask = 1;
        task(context, index);
        insideTask = 0;
        atomic_fetch_add(&done, 1);
        t = atomic_load(&ticket);
    }
}

static void *worker(void *unused) {
    (void)unused;
    uint32_t seen = (uint32_t)(atomic_load(&ticket) >> 32);
    for (;;) {
        // Spin for the next region, then sleep.
        uint64_t deadline = nowNanoseconds() + (uint64_t)gpd_pool_spin_microseconds * 1000u;
        uint32_t generation = seen;
        for (unsigned spins = 0;; spins++) {
            generation = (uint32_t)(atomic_load_explicit(&ticket, memory_order_acquire) >> 32);
            if (generation != seen) break;
            RELAX();
            if ((spins & 255) == 255 && (atomic_load_explicit(&parked, memory_order_relaxed) == (int)seen + 1 ||
                                         nowNanoseconds() > deadline)) break;
        }
        if (generation == seen) {
            pthread_mutex_lock(&sleepLock);
            atomic_fetch_add(&sleepers, 1);
            while ((generation = (uint32_t)(atomic_load(&ticket) >> 32)) == seen) pthread_cond_wait(&wake, &sleepLock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleepLock);
        }
        seen = generation;
        takeIndices(generation);
    }
    return 0;
}

static void startWorkers(void) {
    for (long i = 0; i < requestedWorkers; i++) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attr, worker, 0) == 0) started++;
        pthread_attr_destroy(&attr);
    }
}

long gpd_pool_start(long workers) {
    requestedWorkers = workers;
    pthread_once(&startOnce, startWorkers);
    return started;
}

int gpd_pool_run(long count, gpd_pool_task task, void *context) {
    if (count <= 0) return 0;
    if (started == 0 || insideTask || count > 0xffffffffL) return -1;
    if (pthread_mutex_trylock(&submit) != 0) return -1;
    atomic_store_explicit(&currentTask, task, memory_order_relaxed);
    atomic_store_explicit(&currentContext, context, memory_order_relaxed);
    atomic_store_explicit(&currentCount, count, memory_order_relaxed);
    atomic_store(&done, 0);
    uint32_t generation = (uint32_t)(atomic_load(&ticket) >> 32) + 1;
    atomic_store(&ticket, (uint64_t)generation << 32);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleepLock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleepLock);
    }
    takeIndices(generation);
    while (atomic_load_explicit(&done, memory_order_acquire) < count) RELAX();
    pthread_mutex_unlock(&submit);
    return 0;
}

void gpd_pool_park(void) {
    atomic_store_explicit(&parked, (int)(uint32_t)(atomic_load(&ticket) >> 32) + 1, memory_order_relaxed);
}
