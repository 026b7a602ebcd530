// Symbolizes the interned stacks of a trace.
#ifndef HEAPGAP_REPORT_STACK_SYMBOLIZER_H_
#define HEAPGAP_REPORT_STACK_SYMBOLIZER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "report/module_map.h"
#include "report/stack_table.h"
#include "symbolizer/symbolizer.h"

namespace heapgap::report {

class StackSymbolizer {
 public:
  // Frames for one return address in a module, innermost first.
  using SymbolizeFunction =
      std::function<std::vector<SymbolizedFrame>(const ModuleInfo& module, uint64_t address)>;

  // Uses heapgap::Symbolizer (DWARF and symbol tables of the files on disk).
  StackSymbolizer();
  // Uses `symbolize` instead, e.g. in tests or to skip symbolization.
  explicit StackSymbolizer(SymbolizeFunction symbolize);
  ~StackSymbolizer();

  // Only module and address for every frame: no file is opened.
  static StackSymbolizer AddressesOnly();

  StackSymbolizer(StackSymbolizer&&);
  StackSymbolizer& operator=(StackSymbolizer&&);

  // The symbolized frames of stack `stack_id`, innermost first, inlined calls
  // expanded. Frames outside every known module keep just their address.
  std::vector<SymbolizedFrame> Symbolize(uint64_t stack_id, const StackTable& stacks,
                                         const ModuleMap& modules);

 private:
  std::unique_ptr<Symbolizer> symbolizer_;
  SymbolizeFunction symbolize_;
};

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_STACK_SYMBOLIZER_H_
