// The C++ example of the README (kept here so the build proves it compiles and the CLI
// tests run it): mpirun -n 2 build/dnd-example-quickstart
#include "src/core/elementwise.h"
#include "src/core/factories.h"
#include "src/core/printing.h"
#include "src/core/reductions.h"
#include "src/core/runtime.h"

#include <cstdio>

int main(int argc, char** argv) {
  dnd::Runtime rt(&argc, &argv);  // MPI, threads per rank, allocator
  auto x = dnd::random_normal({1000, 16}, /*seed=*/7, 0.0, 1.0, {/*split=*/0});
  auto y = dnd::arange(16, dnd::ArrayOptions{}.with_dtype(at::kFloat));  // replicated
  auto z = x * y + 1.0;                 // numpy broadcasting, split kept
  auto m = dnd::mean(z, dnd::axis(0));  // over the split axis: one allreduce
  std::string s = dnd::to_string(m);    // collective; Heat-style text
  if (x.comm().rank() == 0) std::puts(s.c_str());
}
