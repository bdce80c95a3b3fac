// A pipeline file as written: its params, defaults and steps, each value with the
// position it came from, so that every error can cite file:line:column. Parsing knows no
// ops; the planner (plan.h) checks the steps against the op registry.
#pragma once

#include "src/core/error.h"

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dnd::pipeline {

// A 1-based position in the pipeline file; line 0 when unknown.
struct Mark {
  int line = 0;
  int col = 0;
};
Mark mark_of(const YAML::Node& n);

// An invalid pipeline (found before anything ran): `dnd` exits 2. what() is the
// ninja-style message: "file:line:col: error: msg", then the source line and a caret.
// A user error like ValueError, with the position it came from; a dnd bug found while
// planning stays an InternalError and is never turned into one.
class PipelineError : public Error {
 public:
  PipelineError(const std::string& file, Mark mark, const std::string& msg,
                const std::string& source_line = {});
  const std::string& file() const noexcept { return file_; }
  Mark mark() const noexcept { return mark_; }
  const std::string& message() const noexcept { return msg_; }

 private:
  std::string file_;
  Mark mark_;
  std::string msg_;
};

// One step's input: a reference to an earlier result ("X", "model.centroids") or, for
// the elementwise ops, a number.
struct InputRef {
  std::string ref;     // empty for a number
  YAML::Node literal;  // the number, when ref is empty
  Mark mark;
};

struct Step {
  std::string id;  // as written; generated ("print#3") when the file gives none
  bool has_id = false;
  std::string op;
  Mark mark;     // the step's first key
  Mark op_mark;  // the op's value
  std::vector<InputRef> inputs;
  Mark inputs_mark;
  // Parameters other than id/op/input(s), in file order, with ${...} already resolved.
  std::vector<std::pair<std::string, YAML::Node>> params;
  std::map<std::string, Mark> param_marks;  // name -> position of its key
  int index = 0;                            // 0-based position in the file
};

struct Document {
  std::string file;
  std::vector<std::string> lines;  // the source, for error carets
  int version = 1;
  std::string name;
  std::vector<std::pair<std::string, YAML::Node>> params;  // after --set overrides
  std::string default_dtype = "float32";
  std::string default_device = "cpu";
  bool default_sync = true;  // defaults: {sync: false}: saves are not synced (scratch data)
  std::vector<Step> steps;
  std::vector<std::pair<std::string, Mark>> plugins;  // `plugins:` libraries, with their positions
  // `timed: [fit, svd]`: the steps whose times `dnd bench` adds up as a run's time (set-up
  // such as random.blobs stays out); every id is a step's. `dnd run` ignores it.
  std::vector<std::pair<std::string, Mark>> timed;

  // An error at a position of this file, with its source line.
  PipelineError error(Mark m, const std::string& msg) const;
};

// Reads and parses a pipeline file ("-": standard input). `sets` are --set key=value
// overrides of params (values are read as YAML scalars: 16 is an int, 1e-3 a float, abc a
// string).
Document load_document(const std::string& path, const std::vector<std::string>& sets = {});
// A pipeline file's text ("-": standard input), at most kMaxFileBytes + 1 of it; only a
// regular file is opened (a FIFO or device is refused, never waited on). Throws PipelineError.
std::string read_pipeline_text(const std::string& path);
// How messages name the pipeline `path` ("<stdin>" for "-").
std::string pipeline_name(const std::string& path);
// The same from text (tests; `file` names it in messages).
Document parse_document(const std::string& text, const std::string& file,
                        const std::vector<std::string>& sets = {});

}  // namespace dnd::pipeline
