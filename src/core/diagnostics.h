// Text for messages about the outside world: what a path is, and an exception's message
// without the C++ backtrace torch appends. (Defined in text.cpp.)
#pragma once

#include <string>

namespace dnd {

// An exception's message for a user: torch's messages end in a C++ backtrace
// ("Exception raised from ... frame #0: ..."), which is cut off here.
std::string without_backtrace(const std::string& what);

// "a directory", "a FIFO (named pipe)", "a character device", ... for a stat() st_mode
// that is not a regular file ("a regular file" for one).
const char* file_kind(unsigned mode);

}  // namespace dnd
