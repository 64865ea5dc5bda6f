// A C interface to libsentencepiece's SentencePieceProcessor (C++), for Swift: load a model file, ask
// for its special ids, encode UTF-8 text to ids. Errors come back as text in a caller's buffer.
#ifndef GPD_CSENTENCEPIECE_H
#define GPD_CSENTENCEPIECE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gpd_spm gpd_spm;

/// Loads a sentencepiece model (e.g. spiece.model); NULL with a message in `error` on failure.
gpd_spm *gpd_spm_load(const char *path, char *error, size_t error_capacity);
void gpd_spm_free(gpd_spm *model);

/// The number of pieces, and the ids of </s>, <unk> and <pad> (-1 when the model has none).
int gpd_spm_piece_size(const gpd_spm *model);
int gpd_spm_eos_id(const gpd_spm *model);
int gpd_spm_unk_id(const gpd_spm *model);
int gpd_spm_pad_id(const gpd_spm *model);

/// Encodes `length` bytes of UTF-8 `text` (no special tokens added). Returns the number of ids, writing
/// at most `capacity` of them (call again with a larger buffer when the result exceeds it), or -1 with a
/// message in `error`.
long gpd_spm_encode(const gpd_spm *model, const char *text, size_t length, int *ids, size_t capacity,
                    char *error, size_t error_capacity);

#ifdef __cplusplus
}
#endif

#endif
