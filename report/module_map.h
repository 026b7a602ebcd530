// The modules recorded in a trace, and which ones are loaded at the current
// point of reading.
#ifndef HEAPGAP_REPORT_MODULE_MAP_H_
#define HEAPGAP_REPORT_MODULE_MAP_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "symbolizer/symbolizer.h"
#include "trace.pb.h"

namespace heapgap::report {

struct TracedModule {
  uint32_t module_id = 0;  // as in the trace
  ModuleInfo info;
  bool is_main_executable = false;
  bool is_heapgap = false;  // the tracer itself
};

// Every module ever loaded keeps its index for the whole trace, so a stack
// node can refer to the module that was loaded when the node was written even
// after the module is unloaded and its addresses reused.
class ModuleMap {
 public:
  using Index = uint32_t;
  static constexpr Index kNoModule = UINT32_MAX;

  // A module id already loaded is replaced (its old record stays reachable by
  // index for nodes written before).
  void Load(const trace::ModuleLoad& load);
  // Unloading an id that is not loaded does nothing.
  void Unload(uint32_t module_id);

  // The loaded module one of whose segments contains `address`.
  Index Find(uint64_t address);

  const TracedModule& module(Index index) const { return modules_[index]; }
  size_t size() const { return modules_.size(); }

 private:
  struct Range {
    uint64_t start;
    uint64_t end;
    Index index;
  };
  void RebuildRanges();

  std::vector<TracedModule> modules_;
  absl::flat_hash_map<uint32_t, Index> loaded_;  // module id -> index
  std::vector<Range> ranges_;  // segments of the loaded modules, by start
  bool ranges_stale_ = false;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_MODULE_MAP_H_
