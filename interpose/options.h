// Settings of the preload library, from the environment variable
// HEAPGAP_OPTIONS ("key=value" pairs separated by ':'; see docs/ARCHITECTURE.md).
#ifndef HEAPGAP_INTERPOSE_OPTIONS_H_
#define HEAPGAP_INTERPOSE_OPTIONS_H_

#include <cstdint>

namespace heapgap {

struct Options {
  static constexpr int kMaxStackDepth = 256;
  static constexpr int kPathCapacity = 4096;

  char output[kPathCapacity] = "heapgap.%e.%p.trace";
  char manifest[kPathCapacity] = "";
  int stack_depth = 64;
  bool flush_thread = true;
  bool quiet = false;
  bool leak_check = true;      // keep the live set and scan for leaks at a clean exit
  bool scan_mappings = true;   // every writable non-heap mapping is a root (like memcheck)
  bool freeres = true;         // free libc's and libstdc++'s own buffers first (like valgrind)
};

// Parses `text` (may be null) over the defaults. Unknown keys and bad values
// are reported through `complain` (one line each) and ignored.
void ParseOptions(const char* text, Options& options, void (*complain)(const char* message));

}  // namespace heapgap

#endif  // HEAPGAP_INTERPOSE_OPTIONS_H_
