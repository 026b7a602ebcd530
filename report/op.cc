#include "report/op.h"

namespace heapgap::report {

absl::string_view OpFunctionName(uint32_t op) {
  switch (op) {
    case 1: return "malloc";
    case 2: return "calloc";
    case 3: return "realloc";
    case 4: return "reallocarray";
    case 5: return "memalign";
    case 6: return "posix_memalign";
    case 7: return "aligned_alloc";
    case 8: return "valloc";
    case 9: return "pvalloc";
    case 10: return "operator new";
    case 11: return "operator new[]";
    case 12: return "operator new(nothrow)";
    case 13: return "operator new[](nothrow)";
    case 14: return "operator new(aligned)";
    case 15: return "operator new[](aligned)";
    case 16: return "operator new(aligned, nothrow)";
    case 17: return "operator new[](aligned, nothrow)";
    case 32: return "free";
    case 33: return "realloc";
    case 34: return "reallocarray";
    case 35: return "operator delete";
    case 36: return "operator delete[]";
    case 37: return "operator delete(sized)";
    case 38: return "operator delete[](sized)";
    case 39: return "operator delete(nothrow)";
    case 40: return "operator delete[](nothrow)";
    case 41: return "operator delete(aligned)";
    case 42: return "operator delete[](aligned)";
    case 43: return "operator delete(aligned, sized)";
    case 44: return "operator delete[](aligned, sized)";
    case 45: return "operator delete(aligned, nothrow)";
    case 46: return "operator delete[](aligned, nothrow)";
    default: return {};
  }
}

}  // namespace heapgap::report
