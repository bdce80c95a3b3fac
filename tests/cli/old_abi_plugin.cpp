// A plugin as an older dnd would have built it: its marker names plugin ABI 0, so the
// loader must refuse it before running any of its code (this static initializer would
// end the process if it ran).
#include <cstdlib>

extern "C" __attribute__((visibility("default"), used)) const char dnd_plugin_marker[] =
    "dnd-plugin{abi=0;torch=1.13.0;cxx11abi=1;name=oldops}";

namespace {
const bool ran = [] {
  std::abort();
  return true;
}();
}  // namespace
