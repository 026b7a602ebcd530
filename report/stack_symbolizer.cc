#include "report/stack_symbolizer.h"

#include <utility>

namespace heapgap::report {

StackSymbolizer::StackSymbolizer() : symbolizer_(std::make_unique<Symbolizer>()) {
  Symbolizer* symbolizer = symbolizer_.get();
  symbolize_ = [symbolizer](const ModuleInfo& module, uint64_t address) {
    return symbolizer->Symbolize(module, address);
  };
}

StackSymbolizer::StackSymbolizer(SymbolizeFunction symbolize) : symbolize_(std::move(symbolize)) {}

StackSymbolizer::~StackSymbolizer() = default;
StackSymbolizer::StackSymbolizer(StackSymbolizer&&) = default;
StackSymbolizer& StackSymbolizer::operator=(StackSymbolizer&&) = default;

StackSymbolizer StackSymbolizer::AddressesOnly() {
  return StackSymbolizer([](const ModuleInfo& module, uint64_t address) {
    SymbolizedFrame frame;
    frame.address = address;
    frame.module = module.path;
    frame.module_offset = address - module.load_bias;
    return std::vector<SymbolizedFrame>{frame};
  });
}

std::vector<SymbolizedFrame> StackSymbolizer::Symbolize(uint64_t stack_id,
                                                        const StackTable& stacks,
                                                        const ModuleMap& modules) {
  std::vector<SymbolizedFrame> frames;
  for (const StackFrame& frame : stacks.Frames(stack_id, modules)) {
    if (frame.module == ModuleMap::kNoModule) {
      frames.push_back(Symbolizer::Unknown(frame.return_address));
      continue;
    }
    std::vector<SymbolizedFrame> resolved =
        symbolize_(modules.module(frame.module).info, frame.return_address);
    for (SymbolizedFrame& f : resolved) frames.push_back(std::move(f));
  }
  return frames;
}

}  // namespace heapgap::report
