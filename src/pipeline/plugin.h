// Writing a dnd plugin: a shared library whose ops register like the built-in ones.
//
//   #include "src/pipeline/plugin.h"
//   DND_PLUGIN("myops");                    // once per library
//   namespace { dnd::pipeline::OpDef make_clamp01() { ... } }
//   DND_REGISTER_OP(make_clamp01());        // as in src/pipeline/ops/
//
// Build it against the same dnd headers and libtorch as the dnd executable (see
// examples/plugin/CMakeLists.txt); the library's undefined dnd symbols resolve against the
// executable, which exports them. `dnd run --plugin libmyops.so` or `plugins:` in the
// pipeline file loads it, before validation: `dnd validate`, `plan`, `ops` know its ops.
//
// DND_PLUGIN writes a marker string into the library that the loader reads from the file
// before loading it, so a library built against another dnd plugin ABI (the layout of
// OpDef, Params, the contexts, DNDarray), another libtorch or another C++ library ABI is
// refused with a message instead of crashing when its registrations run.
#pragma once

#include "src/pipeline/registry.h"

#include <torch/version.h>

// Bump when a type a plugin sees changes its layout or meaning (registry.h, dndarray.h,
// communicator.h and what they include).
#define DND_PLUGIN_ABI 1

#define DND_PLUGIN_STR2(x) #x
#define DND_PLUGIN_STR(x) DND_PLUGIN_STR2(x)
// The marker: "dnd-plugin{abi=1;torch=1.13.0;cxx11abi=1;name=myops}".
#define DND_PLUGIN_MARKER(name)                                                                         \
  "dnd-plugin{abi=" DND_PLUGIN_STR(DND_PLUGIN_ABI) ";torch=" TORCH_VERSION ";cxx11abi=" DND_PLUGIN_STR( \
      _GLIBCXX_USE_CXX11_ABI) ";name=" name "}"

#define DND_PLUGIN(name)                                                                   \
  extern "C" __attribute__((visibility("default"), used)) const char dnd_plugin_marker[] = \
      DND_PLUGIN_MARKER(name)
