// The op registry. Each op is one self-registering definition under src/pipeline/ops/:
// its parameters (which validate files and feed `dnd ops` and the JSON schema), how it
// infers result shapes/dtypes/splits without data (`dnd plan`), and how it runs.
//
//   DND_REGISTER_OP(make_transpose());   // OpDef make_transpose() { ... }
//
// The registry is a function-local static, filled before main() runs; src/pipeline is an
// OBJECT library so that no self-registering file is dropped by the linker.
#pragma once

#include "src/core/elementwise.h"
#include "src/core/indexing.h"
#include "src/core/meta.h"
#include "src/core/types.h"
#include "src/pipeline/document.h"

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dnd {
class DNDarray;
class Communicator;
}  // namespace dnd
namespace dnd::io {
class Outputs;
}  // namespace dnd::io

namespace dnd::pipeline {

enum class ParamKind {
  integer,      // 3
  number,       // 0.5, 1e-4
  boolean,      // true / false
  string,       // any text
  path,         // a file path (text)
  choice,       // one of `choices`
  shape,        // 8 or [1000, 16]
  int_list,     // [0, 2, 1]
  axes,         // none (all axes), 1 or [0, 2]
  axis,         // none or an axis
  split,        // none or an axis
  dtype,        // float32, int64, ...
  device,       // cpu or gpu
  scalar,       // a number or a bool (a fill value)
  index,        // numpy-style "2:10, ::2, 0, ..."
  number_list,  // [0.25, 0.5, 0.25]
  name_list,    // [mean, std]
  mapping,      // {alpha: 0.5, units: m}: names to numbers, bools, text or lists of numbers
  values,       // 3, [1, 2.5] or [[1, 2], [3, 4]]: numbers or bools, nested lists (rectangular)
};

// A literal array from the file (ParamKind::values): its shape and its elements in
// row-major order, each an int64, a double or a bool as written.
struct Literal {
  Shape shape;
  std::vector<c10::Scalar> values;
};
const char* param_kind_name(ParamKind k);

struct ParamSpec {
  std::string name;
  ParamKind kind;
  std::string help;
  bool required = false;
  std::string default_value;  // YAML text used when the step omits it ("" = none/null)
  std::vector<std::string> choices;
};

// A step's parameters, validated against its op's specs. Accessors return the value
// given in the file or the spec's default; validation has already checked the types.
class Params {
 public:
  Params(const Step& step, const std::vector<ParamSpec>& specs, const Document& doc);
  bool given(const std::string& name) const;    // written in the file (not a default)
  bool is_none(const std::string& name) const;  // absent without default, or null/none
  int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool boolean(const std::string& name) const;
  std::string string(const std::string& name) const;
  Shape shape(const std::string& name) const;
  std::vector<int64_t> int_list(const std::string& name) const;
  std::optional<std::vector<int64_t>> axes(const std::string& name) const;  // nullopt: all
  std::optional<int64_t> axis(const std::string& name) const;
  Split split(const std::string& name) const;
  Dtype dtype(const std::string& name, Dtype fallback) const;  // fallback when none
  DeviceKind device(const std::string& name, DeviceKind fallback) const;
  c10::Scalar scalar(const std::string& name) const;
  std::vector<Index> index(const std::string& name) const;
  std::vector<double> number_list(const std::string& name) const;
  std::vector<std::string> name_list(const std::string& name) const;
  Literal values(const std::string& name) const;
  // The entries of a mapping in file order, with the position of each value.
  std::vector<std::pair<std::string, YAML::Node>> mapping(const std::string& name) const;
  Mark mark(const std::string& name) const;
  const Document& document() const noexcept { return *doc_; }
  const Step& step() const noexcept { return *step_; }

 private:
  YAML::Node node(const std::string& name) const;
  const ParamSpec& spec(const std::string& name) const;
  const Step* step_;
  const std::vector<ParamSpec>* specs_;
  const Document* doc_;
};

// What the planner knows of an array (no data) and what a step produces and costs are
// core's: the planner's rules are core's and the kernels' meta functions.
using dnd::ArrayMeta;
using InferResult = dnd::OpMeta;

// A file a step reads or writes, from its parameters alone: the planner's file table
// (src/pipeline/files.h) checks every file of a pipeline before anything runs.
struct FileUse {
  bool write = false;
  std::string path;     // as the step writes it
  std::string format;   // "hdf5", "npy", "csv"
  std::string dataset;  // HDF5: "/group/name"; a read may leave it empty (the only one)
  bool append = false;  // write: mode append
  bool overwrite = false;
  // Filled by the planner.
  std::string resolved;              // absolute, symlinks followed (io::resolve_output)
  bool from_run = false;             // read: an earlier step of the run writes this file
  std::optional<ArrayMeta> planned;  // read: what that step writes into the dataset
};

// A number given among a step's inputs ("2", "-1.5", "1e-3", "inf", "nan"): integers stay
// integers (torch's promotion then treats it like a Python int). Throws ValueError.
c10::Scalar literal_scalar(const YAML::Node& literal);

// One input of a step at plan time: an array (from an earlier step) or a number.
struct InputMeta {
  bool is_scalar = false;
  ArrayMeta array;
  YAML::Node literal;
};

struct InferContext {
  const Step& step;
  const Params& params;
  const std::vector<InputMeta>& inputs;
  int nranks;
  Dtype default_dtype;
  DeviceKind default_device;
  const std::vector<FileUse>* files = nullptr;  // OpDef::files, as the planner filled them
  const ArrayMeta& array(size_t i) const { return inputs.at(i).array; }
};

// Rank 0's live progress line for long steps (kmeans iterations, I/O).
class Progress {
 public:
  virtual ~Progress() = default;
  // The live line (rewritten on a terminal, every few seconds on a pipe).
  virtual void update(const std::string& text) = 0;
  // A line that always stays, such as an op's final summary (kmeans' iterations).
  virtual void summary(const std::string& text) { update(text); }
};

struct RunContext {
  const Step& step;
  const Params& params;
  std::vector<Operand> inputs;  // arrays and numbers, in the step's order
  const Communicator& comm;
  Dtype default_dtype;
  DeviceKind default_device;
  const std::vector<ArrayMeta>& planned;  // what the planner inferred for the outputs
  Progress& progress;
  std::FILE* out;                               // rank 0's results (print)
  io::Outputs* outputs = nullptr;               // the run's outputs, committed after the last step
  const std::vector<FileUse>* files = nullptr;  // as planned
  const DNDarray& array(size_t i) const { return inputs.at(i).array(); }
};

struct OpDef {
  std::string name;
  std::string summary;
  int min_inputs = 1;
  int max_inputs = 1;          // -1: any number
  bool scalar_inputs = false;  // numbers allowed among the inputs (elementwise)
  std::vector<ParamSpec> params;
  std::vector<std::string> outputs;  // named results (id.field); empty: one, named by the id
  // When set: the results a step gives with its parameters (a subset of `outputs`, such
  // as svd's S alone with compute_uv: false). Using a missing one is a plan error.
  std::function<std::vector<std::string>(const Params&)> outputs_for;
  bool has_result = true;  // false: save, print (the step needs no id)
  std::string category = "array";
  std::function<InferResult(const InferContext&)> infer;
  std::function<std::vector<DNDarray>(RunContext&)> run;
  // The files the step reads or writes (load, save); throws ValueError for bad params.
  std::function<std::vector<FileUse>(const Params&)> files;
  const char* file = "";
  int line = 0;
};

// Adds an op; a second op of the same name is an error naming both places.
bool register_op(OpDef def, const char* file, int line);
// While a plugin loads (plugins.h): a second op of a taken name is recorded in `sink`
// (then refused) instead of ending the process. nullptr restores the default.
void set_registration_errors(std::vector<std::string>* sink);
const OpDef* find_op(const std::string& name);
std::vector<const OpDef*> all_ops();  // sorted by name

#define DND_PIPELINE_CONCAT2(a, b) a##b
#define DND_PIPELINE_CONCAT(a, b) DND_PIPELINE_CONCAT2(a, b)
#define DND_REGISTER_OP(def)                                                             \
  static const bool DND_PIPELINE_CONCAT(dnd_registered_op_, __LINE__) [[maybe_unused]] = \
      ::dnd::pipeline::register_op((def), __FILE__, __LINE__)

// Common parameter specs.
ParamSpec p_split(const std::string& help = "axis to distribute along (none: every rank holds all)",
                  const std::string& def = "");
ParamSpec p_dtype(const std::string& help = "element type (default: the pipeline's defaults.dtype)");

}  // namespace dnd::pipeline
