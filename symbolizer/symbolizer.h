// Offline symbolization of return addresses recorded in a trace.
//
// A trace records, per loaded module, its path, build-id, load bias and
// PT_LOAD segments, and call stacks as absolute return addresses. Symbolizer
// turns one (module, return address) pair into function, file:line and the
// chain of inlined calls, using elfutils libdwfl on the files found on disk
// (or their separate debug info). Each distinct module file is opened once and
// serves every load bias; results are cached per (module, file address).
//
// Thread-compatible: use one Symbolizer per thread.

#ifndef HEAPGAP_SYMBOLIZER_SYMBOLIZER_H_
#define HEAPGAP_SYMBOLIZER_SYMBOLIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace heapgap {

// One PT_LOAD segment of a loaded module, at absolute addresses.
struct ModuleSegment {
  uint64_t start;
  uint64_t size;
  uint32_t flags;  // PF_X = 1, PF_W = 2, PF_R = 4
  uint64_t file_offset;
};

// A module as recorded in the trace's ModuleLoad.
struct ModuleInfo {
  std::string path;      // absolute path of the ELF file; "[vdso]" possible
  std::string build_id;  // raw NT_GNU_BUILD_ID bytes, may be empty
  uint64_t load_bias = 0;
  std::vector<ModuleSegment> segments;
};

struct SymbolizedFrame {
  uint64_t address = 0;        // the return address given
  std::string function;        // demangled; empty if unknown
  std::string file;            // full path from DWARF; empty if unknown
  int line = 0;                // 0 if unknown
  std::string module;          // module path
  uint64_t module_offset = 0;  // address - load_bias (file virtual address)
  bool inlined = false;        // true for a frame inlined into the next one
};

class Symbolizer {
 public:
  struct Options {
    // Roots searched for separate debug info: <root>/.build-id/xx/rest.debug
    // and, for .gnu_debuglink, <root>/<directory of the module>/<link>.
    std::vector<std::string> debug_roots = {"/usr/lib/debug"};
  };

  Symbolizer();
  explicit Symbolizer(Options options);
  ~Symbolizer();

  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // Frames for one return address inside `module`, innermost first: each
  // inlined call site, then the real function. Looks up return_address - 1,
  // since a return address points after its call. Never fails: a missing
  // file, a build-id mismatch or missing debug info give one frame with
  // whatever is known (at least module and module_offset; the symbol table's
  // function name when only DWARF is missing).
  std::vector<SymbolizedFrame> Symbolize(const ModuleInfo& module,
                                         uint64_t return_address);

  // For frames outside every known module.
  static SymbolizedFrame Unknown(uint64_t return_address);

  struct Stats {
    uint64_t modules_opened;  // distinct (path, build-id) pairs opened
    uint64_t lookups;         // Symbolize() calls
    uint64_t cache_hits;      // lookups answered from the result cache
  };
  Stats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Demangles a symbol name as found in ELF symbol tables or DWARF: drops a
// symbol version suffix ("@GLIBC_2.2.5", "@@GLIBC_2.34") and demangles
// Itanium C++ names, keeping clone suffixes readable
// ("_Z3fooi.isra.0" -> "foo(int) [clone .isra.0]"). Other names are returned
// unchanged.
std::string DemangleSymbol(std::string_view name);

}  // namespace heapgap

#endif  // HEAPGAP_SYMBOLIZER_SYMBOLIZER_H_
