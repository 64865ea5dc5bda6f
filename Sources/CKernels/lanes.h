// Small helpers shared by the C kernels of this target (not part of its interface).
#ifndef GPD_CKERNELS_LANES_H
#define GPD_CKERNELS_LANES_H

#include <immintrin.h>

/// x rounded up to a multiple of `to`.
static inline long roundUp(long x, long to) { return (x + to - 1) / to * to; }

/// A mask of the first `count` of 16 lanes (all for 16 or more, none for 0 or less).
static inline __mmask16 firstLanes(long count) {
    return count >= 16 ? (__mmask16)0xffff : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

#endif
