// OpenMPI for Swift: MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE … are macros over OpenMPI's
// global objects, which Swift cannot import; these wrappers name them. Every call is on
// MPI_COMM_WORLD and returns MPI's error code (the default handler aborts the job on an error).
#ifndef GPD_CMPI_SHIM_H
#define GPD_CMPI_SHIM_H
#include <mpi.h>

static inline int gpd_mpi_init(void) {
    int provided = 0;
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
}
static inline int gpd_mpi_finalize(void) { return MPI_Finalize(); }
static inline void gpd_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
static inline int gpd_mpi_rank(void) { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
static inline int gpd_mpi_size(void) { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }
static inline int gpd_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static inline int gpd_mpi_allreduce_sum_float(float *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static inline int gpd_mpi_allreduce_sum_double(double *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static inline int gpd_mpi_allreduce_max_int(int *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
}
static inline int gpd_mpi_bcast_bytes(void *bytes, int count, int root) {
    return MPI_Bcast(bytes, count, MPI_BYTE, root, MPI_COMM_WORLD);
}
static inline int gpd_mpi_bcast_int(int *values, int count, int root) {
    return MPI_Bcast(values, count, MPI_INT, root, MPI_COMM_WORLD);
}
static inline int gpd_mpi_gatherv_bytes(const void *send, int count, void *receive, const int *counts,
                                        const int *offsets, int root) {
    return MPI_Gatherv(send, count, MPI_BYTE, receive, counts, offsets, MPI_BYTE, root, MPI_COMM_WORLD);
}
static inline int gpd_mpi_gather_int(int value, int *receive, int root) {
    return MPI_Gather(&value, 1, MPI_INT, receive, 1, MPI_INT, root, MPI_COMM_WORLD);
}
#endif
