// How one row-major product x·Wᵀ ([M, K] by [N, K]) goes fastest over two cores with OpenBLAS:
// its own two threads, or the rows split in halves, one single-threaded cblas_sgemm per core (what the
// engine does for tall products with a small right operand, Sources/Tensors/Kernels/GEMM.swift), with
// the second core's worker spinning for its task or asleep until woken (Dispatch's workers sleep).
// The four ways are interleaved call by call, so a machine whose speed drifts slows them alike.
//
//   cc -O2 scripts/gemm-split-probe.c -o /tmp/gemm-split-probe -lopenblas -lpthread
//   OPENBLAS_CORETYPE=Cooperlake OPENBLAS_THREAD_TIMEOUT=4 /tmp/gemm-split-probe 2560 128 128 [calls]
//
// Set OPENBLAS_CORETYPE to the core `gpd --version` names (the probe does not choose one) and
// OPENBLAS_THREAD_TIMEOUT=4 as gpd does. Prints GFLOP/s per way. docs/benchmarks.md has the results.
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void openblas_set_num_threads(int);

static int M = 2560, K = 128, N = 128;
static float *A, *B, *C;
static atomic_int tasks, finished, asleep;   // tasks handed out, tasks done, 1: the worker waits on cv
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static void product(int rows0, int rows1) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows1 - rows0, N, K, 1, A + (long)rows0 * K, K, B, K,
                0, C + (long)rows0 * N, N);
}

static void *worker(void *unused) {
    (void)unused;
    int seen = 0;
    for (;;) {
        if (!atomic_load(&asleep)) {
            while (atomic_load(&tasks) == seen && !atomic_load(&asleep)) {}
        } else {
            pthread_mutex_lock(&mu);
            while (atomic_load(&tasks) == seen && atomic_load(&asleep)) pthread_cond_wait(&cv, &mu);
            pthread_mutex_unlock(&mu);
        }
        if (atomic_load(&tasks) == seen) continue;   // woken to change mode, no task
        seen = atomic_load(&tasks);
        product(M / 2, M);
        atomic_fetch_add(&finished, 1);
    }
    return NULL;
}

static void setAsleep(int value) {
    pthread_mutex_lock(&mu);
    atomic_store(&asleep, value);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    usleep(300);   // the worker settles into the new mode
}

int main(int argc, char **argv) {
    if (argc >= 4) { M = atoi(argv[1]); K = atoi(argv[2]); N = atoi(argv[3]); }
    int calls = argc >= 5 ? atoi(argv[4]) : 300;
    if (M < 2 || K < 1 || N < 1 || calls < 1) { fprintf(stderr, "usage: %s M K N [calls]\n", argv[0]); return 2; }
    A = malloc(sizeof(float) * (size_t)M * K); B = malloc(sizeof(float) * (size_t)N * K); C = malloc(sizeof(float) * (size_t)M * N);
    if (!A || !B || !C) { fprintf(stderr, "out of memory\n"); return 1; }
    for (long i = 0; i < (long)M * K; i++) A[i] = (float)rand() / RAND_MAX;
    for (long i = 0; i < (long)N * K; i++) B[i] = (float)rand() / RAND_MAX;

    atomic_store(&asleep, 1);
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    double openblas2 = 0, one = 0, wake = 0, spin = 0, t;
    int done = 0;
    for (int r = 0; r < calls; r++) {
        setAsleep(1);   // OpenBLAS's threads and the one-thread product run with the worker asleep
        openblas_set_num_threads(2);
        t = now(); product(0, M); openblas2 += now() - t;
        openblas_set_num_threads(1);
        t = now(); product(0, M); one += now() - t;
        usleep(100);
        t = now();
        pthread_mutex_lock(&mu); atomic_fetch_add(&tasks, 1); pthread_cond_signal(&cv); pthread_mutex_unlock(&mu);
        product(0, M / 2);
        while (atomic_load(&finished) < done + 1) {}
        done++; wake += now() - t;
        setAsleep(0);
        t = now();
        atomic_fetch_add(&tasks, 1);
        product(0, M / 2);
        while (atomic_load(&finished) < done + 1) {}
        done++; spin += now() - t;
    }
    double flops = 2.0 * M * N * K * calls / 1e9;
    printf("%d×%d→%d  OpenBLAS 2 threads %.0f  rows split, spinning worker %.0f  rows split, woken worker %.0f  "
           "one thread %.0f GFLOP/s\n", M, K, N, flops / openblas2, flops / spin, flops / wake, flops / one);
    fflush(stdout);
    _exit(0);   // the worker never returns
}
