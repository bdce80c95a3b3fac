// Loading plugin libraries (see plugin.h for writing one). The loader checks the library's
// DND_PLUGIN marker in the file before dlopen runs any of its code, then loads it; its
// DND_REGISTER_OP registrations fill the same registry as the built-in ops.
#pragma once

#include "src/pipeline/document.h"

#include <string>
#include <vector>

namespace dnd::pipeline {

// What this dnd accepts: "dnd-plugin{abi=1;torch=...;cxx11abi=1;name=" (up to the name).
std::string plugin_marker_prefix();

// Loads the library at `path` (relative paths: from the working directory); a library
// already loaded is not loaded again. Throws dnd::ValueError with a clear message: no such
// file, not a dnd plugin, built against another plugin ABI / libtorch, dlopen's error, an op
// name that is already taken.
void load_plugin(const std::string& path);

// The libraries loaded so far, as given.
std::vector<std::string> loaded_plugins();

// Loads the `plugins:` of a pipeline file; errors cite the entry's file:line:col.
void load_document_plugins(const Document& doc);

}  // namespace dnd::pipeline
