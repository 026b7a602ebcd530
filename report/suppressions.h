// Suppressions: leaks (and release errors) that users accept, so they neither
// show in the report's lists nor count for the gate.
//
// Two file formats, which may be mixed in one file:
//   LeakSanitizer: one `leak:PATTERN` per line. PATTERN matches when any frame's
//     function, source file or module path contains it; `*` matches any
//     characters, a leading `^` anchors it at the start, a trailing `$` at the
//     end. Other LeakSanitizer types (race:, called_from_lib:, ...) are ignored.
//   valgrind: `{ NAME, TOOL:KIND, [match-leak-kinds: ...], FRAME... }` blocks.
//     `Memcheck:Leak` suppresses leaks, `Memcheck:Free` mismatched and invalid
//     releases; other kinds never match. Frames, innermost first starting with
//     the allocator (or release) function itself: `fun:NAME`, `obj:MODULE`,
//     `src:FILE[:LINE]` with `*` and `?` wildcards, and `...` for any number
//     of frames. A suppression matches when its frames match the start of the
//     stack.
// Lines starting with `#` are comments in both.
//
// Unchecked blocks (no leak scan) are matched by a suppression whatever its
// match-leak-kinds: the kind they would have had is unknown.
#ifndef HEAPGAP_REPORT_SUPPRESSIONS_H_
#define HEAPGAP_REPORT_SUPPRESSIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "report/leak_kind.h"
#include "symbolizer/symbolizer.h"

namespace heapgap::report {

struct FramePattern {
  enum class Type { kFunction, kObject, kSource, kAnyFrames };
  Type type = Type::kFunction;
  std::string pattern;  // glob (`*`, `?`); kSource: file glob, then `:LINE` optional
  int line = 0;         // kSource: 0 = any line
};

struct Suppression {
  enum class Style { kLeakSanitizer, kValgrind, kBuiltIn };
  enum class Target { kLeak, kReleaseError, kNone };
  Style style = Style::kValgrind;
  Target target = Target::kLeak;
  std::string name;
  std::string origin;        // "FILE:LINE", or "built-in"
  std::string description;   // built-in ones: why the runtime keeps these blocks
  LeakKindMask kinds = kAllLeakKinds;
  std::string lsan_pattern;  // kLeakSanitizer
  std::vector<FramePattern> frames;  // kValgrind, kBuiltIn
};

// The stack a suppression is matched against. `frames` are the program's
// frames, innermost first (the caller of the allocator first), inlined calls
// expanded; `allocator` names the allocation or release function itself
// ("malloc", "operator new(unsigned long)", ...), which valgrind-style frame
// lists start with.
struct MatchStack {
  absl::string_view allocator;
  const std::vector<SymbolizedFrame>* frames = nullptr;
};

class SuppressionSet {
 public:
  // Reads a suppression file; errors name the file and line.
  absl::Status AddFile(const std::string& path);
  // Parses `text`; `origin` names it in errors and reports.
  absl::Status AddText(absl::string_view text, absl::string_view origin);
  // The suppressions for blocks the C and C++ runtimes keep on purpose
  // (docs/GATE.md lists them).
  void AddBuiltIns();

  // The index of the first suppression matching a leak of `kind` with this
  // stack, or -1.
  int MatchLeak(const MatchStack& stack, LeakKind kind) const;
  // The index of the first `Memcheck:Free` suppression matching a release
  // error whose release stack is `stack`, or -1.
  int MatchReleaseError(const MatchStack& stack) const;

  const std::vector<Suppression>& suppressions() const { return suppressions_; }
  size_t size() const { return suppressions_.size(); }

 private:
  std::vector<Suppression> suppressions_;
};

// `*` matches any run of characters, `?` one character; the whole text must
// match.
bool GlobMatch(absl::string_view pattern, absl::string_view text);
// LeakSanitizer's template match: substring search with `*` wildcards, `^`
// and `$` anchors.
bool TemplateMatch(absl::string_view pattern, absl::string_view text);

// The name an allocation or release op's function has in valgrind stacks,
// demangled: "malloc", "operator new[](unsigned long)", "operator
// delete(void*, unsigned long)", ...
std::string AllocatorFrameName(uint32_t op);

}  // namespace heapgap::report

#endif  // HEAPGAP_REPORT_SUPPRESSIONS_H_
