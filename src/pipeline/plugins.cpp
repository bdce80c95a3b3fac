// The plugin loader: marker check in the file, then dlopen (its registrations run then).
#include "src/pipeline/plugins.h"

#include "src/core/error.h"
#include "src/pipeline/plugin.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

namespace dnd::pipeline {

namespace {

struct Loaded {
  std::vector<std::string> given;
  std::set<std::string> real;  // canonical paths
};
Loaded& loaded() {
  static Loaded l;
  return l;
}

// The field `key` of a marker "dnd-plugin{abi=1;torch=...;...}".
std::string field(const std::string& marker, const std::string& key) {
  const std::string k = key + "=";
  size_t b = marker.find("{" + k);
  if (b == std::string::npos) b = marker.find(";" + k);
  if (b == std::string::npos) return {};
  b += k.size() + 1;
  const size_t e = marker.find_first_of(";}", b);
  return marker.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

}  // namespace

std::string plugin_marker_prefix() {
  const std::string m = DND_PLUGIN_MARKER("");
  return m.substr(0, m.size() - 1);
}

void load_plugin(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw ValueError(fmt::format("cannot load plugin '{}': {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    throw ValueError(fmt::format("cannot load plugin '{}': not a regular file", path));
  char buf[PATH_MAX];
  const std::string real = ::realpath(path.c_str(), buf) ? std::string(buf) : path;
  if (loaded().real.count(real)) return;

  // The marker, read from the file: nothing of the library runs before it is checked.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ValueError(fmt::format("cannot load plugin '{}': {}", path, std::strerror(errno)));
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const size_t at = bytes.find("dnd-plugin{abi=");
  if (at == std::string::npos)
    throw ValueError(
        fmt::format("'{}' is not a dnd plugin: it has no DND_PLUGIN(\"name\") marker (see "
                    "src/pipeline/plugin.h)",
                    path));
  const size_t end = bytes.find('}', at);
  const std::string marker = bytes.substr(at, end == std::string::npos ? 200 : end + 1 - at);
  const std::string want = DND_PLUGIN_MARKER("");
  const std::string abi = field(marker, "abi"), torch = field(marker, "torch"),
                    cxx = field(marker, "cxx11abi");
  const std::string name = field(marker, "name");
  if (abi != field(want, "abi"))
    throw ValueError(
        fmt::format("plugin '{}' ({}) was built against dnd plugin ABI {}, but this dnd has ABI {}: "
                    "rebuild the plugin against this dnd's headers",
                    path, name, abi.empty() ? "?" : abi, field(want, "abi")));
  if (torch != field(want, "torch") || cxx != field(want, "cxx11abi"))
    throw ValueError(
        fmt::format("plugin '{}' ({}) was built against libtorch {} (C++11 ABI {}), but this dnd uses "
                    "libtorch {} (C++11 ABI {}): rebuild the plugin against the same libtorch",
                    path, name, torch, cxx, field(want, "torch"), field(want, "cxx11abi")));

  std::vector<std::string> errors;
  set_registration_errors(&errors);
  const std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = ::dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  set_registration_errors(nullptr);
  if (!handle) {
    const char* why = ::dlerror();
    throw ValueError(fmt::format("cannot load plugin '{}': {}", path, why ? why : "dlopen failed"));
  }
  loaded().real.insert(real);
  loaded().given.push_back(path);
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "; ") + e;
    throw ValueError(fmt::format("plugin '{}' ({}): {}", path, name, all));
  }
}

std::vector<std::string> loaded_plugins() { return loaded().given; }

void load_document_plugins(const Document& doc) {
  for (const auto& [path, mark] : doc.plugins) {
    try {
      load_plugin(path);
    } catch (const dnd::Error& e) {
      throw doc.error(mark, e.what());
    }
  }
}

}  // namespace dnd::pipeline
