// The C interface of CSentencePiece.h over sentencepiece::SentencePieceProcessor. No exception leaves
// this file: each entry point catches and reports it as an error message.
#include "CSentencePiece.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

struct gpd_spm {
    sentencepiece::SentencePieceProcessor processor;
};

static void put_error(char *error, size_t capacity, const std::string &message) {
    if (error == nullptr || capacity == 0) return;
    size_t n = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
}

gpd_spm *gpd_spm_load(const char *path, char *error, size_t error_capacity) {
    try {
        gpd_spm *model = new gpd_spm();
        const auto status = model->processor.Load(path);
        if (!status.ok()) {
            put_error(error, error_capacity, status.ToString());
            delete model;
            return nullptr;
        }
        return model;
    } catch (const std::exception &e) {
        put_error(error, error_capacity, e.what());
        return nullptr;
    }
}

void gpd_spm_free(gpd_spm *model) { delete model; }

int gpd_spm_piece_size(const gpd_spm *model) { return model->processor.GetPieceSize(); }
int gpd_spm_eos_id(const gpd_spm *model) { return model->processor.eos_id(); }
int gpd_spm_unk_id(const gpd_spm *model) { return model->processor.unk_id(); }
int gpd_spm_pad_id(const gpd_spm *model) { return model->processor.pad_id(); }

long gpd_spm_encode(const gpd_spm *model, const char *text, size_t length, int *ids, size_t capacity,
                    char *error, size_t error_capacity) {
    try {
        std::vector<int> out;
        const auto status = model->processor.Encode(std::string(text, length), &out);
        if (!status.ok()) {
            put_error(error, error_capacity, status.ToString());
            return -1;
        }
        for (size_t i = 0; i < out.size() && i < capacity; ++i) ids[i] = out[i];
        return static_cast<long>(out.size());
    } catch (const std::exception &e) {
        put_error(error, error_capacity, e.what());
        return -1;
    }
}
