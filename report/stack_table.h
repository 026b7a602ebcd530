// The interned call stacks of a trace: a trie of (parent, return address)
// nodes, each tied to the module its address was in when the node was written.
#ifndef HEAPGAP_REPORT_STACK_TABLE_H_
#define HEAPGAP_REPORT_STACK_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "report/module_map.h"
#include "trace.pb.h"

namespace heapgap::report {

struct StackFrame {
  uint64_t return_address = 0;
  ModuleMap::Index module = ModuleMap::kNoModule;
};

class StackTable {
 public:
  StackTable() : nodes_(1) {}  // node 0 means "no stack"

  // Adds a StackNodes record, resolving each return address against the
  // modules loaded now. Returns false with `error` set for ids that go
  // backwards or jump, or a parent that does not exist.
  bool Add(const trace::StackNodes& record, ModuleMap& modules, std::string* error);

  // True for an id that a StackNodes record defined.
  bool Contains(uint64_t id) const { return id < nodes_.size() && nodes_[id].defined; }

  // The frames of stack `id`, innermost first, without the tracer's own
  // frames. Empty for id 0 or an id never defined.
  std::vector<StackFrame> Frames(uint64_t id, const ModuleMap& modules) const;

  size_t node_count() const { return nodes_.size() - 1; }

 private:
  struct Node {
    uint64_t parent = 0;
    uint64_t return_address = 0;
    ModuleMap::Index module = ModuleMap::kNoModule;
    bool defined = false;
  };
  std::vector<Node> nodes_;
  uint64_t skipped_ids_ = 0;  // ids never defined, all gaps together
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_STACK_TABLE_H_
