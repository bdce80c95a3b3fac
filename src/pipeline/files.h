// The planner's file table: every file a pipeline reads and writes (the steps' OpDef::
// files), resolved (absolute, symlinks followed) and checked before anything runs:
//   - a directory, device, FIFO or socket where a file would be written;
//   - an existing file without `overwrite: true` (mode write), or an existing dataset
//     without it (mode append), or a file that is not HDF5 to append to;
//   - the same dataset (or npy / CSV file) written by two steps, steps writing one file
//     in different modes or formats: errors naming both steps (file:line);
//   - a load of a file an earlier step writes: planned from that step (its shape, dtype),
//     ordered after it, and at run time reading what the run wrote.
#pragma once

#include "src/pipeline/registry.h"

#include <memory>
#include <utility>
#include <vector>

namespace dnd::pipeline {

struct FileTable {
  std::vector<std::vector<FileUse>> uses;        // per step, in file order
  std::vector<std::pair<size_t, size_t>> after;  // (writer, reader): the reader runs after the writer
  // readers[w]: (step, use) of the reads planned from the array step w saves.
  std::vector<std::vector<std::pair<size_t, size_t>>> readers;
};

// Before ordering: the uses of every step, resolved and checked (PipelineError).
FileTable plan_files(const Document& doc, const std::vector<const OpDef*>& ops,
                     const std::vector<std::unique_ptr<Params>>& params);

// After step `step` (a writer) was inferred with `saved` as its input: the reads planned
// from it learn what they will read.
void record_write(FileTable& files, size_t step, const ArrayMeta& saved);

}  // namespace dnd::pipeline
