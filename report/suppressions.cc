#include "report/suppressions.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace heapgap::report {
namespace {

// The built-in suppressions, in the valgrind format. The first line of each
// block after the name is the description reports give.
constexpr absl::string_view kBuiltInText = R"(
{
   libstdc++ start-up blocks
   Memcheck:Leak
   match-leak-kinds: reachable
   fun:*
   obj:*/libstdc++.so*
   ...
   obj:*/ld-linux*.so*
}
{
   dynamic loader blocks
   Memcheck:Leak
   fun:*
   obj:*/ld-linux*.so*
}
{
   dynamic TLS blocks
   Memcheck:Leak
   fun:*
   ...
   fun:__tls_get_addr
}
{
   thread control blocks
   Memcheck:Leak
   fun:*
   ...
   fun:_dl_allocate_tls*
}
{
   stdio buffers
   Memcheck:Leak
   match-leak-kinds: reachable
   fun:*
   fun:_IO_file_doallocate
}
{
   locale data
   Memcheck:Leak
   match-leak-kinds: reachable
   fun:*
   ...
   fun:setlocale
}
{
   time zone data
   Memcheck:Leak
   match-leak-kinds: reachable
   fun:*
   ...
   fun:tzset
}
{
   exit handler blocks
   Memcheck:Leak
   match-leak-kinds: reachable
   fun:*
   ...
   fun:__cxa_atexit
}
)";

struct BuiltInDescription {
  absl::string_view name;
  absl::string_view description;
};
constexpr BuiltInDescription kBuiltInDescriptions[] = {
    {"libstdc++ start-up blocks",
     "blocks libstdc++ allocates while its initializers run, such as the emergency exception "
     "pool; kept for the life of the process"},
    {"dynamic loader blocks",
     "blocks the dynamic loader allocates itself: thread vectors (DTVs), dynamic TLS and the "
     "link maps of loaded libraries"},
    {"dynamic TLS blocks", "thread-local storage of dlopen'ed libraries, allocated on first use"},
    {"thread control blocks", "DTVs of threads, which glibc caches with thread stacks"},
    {"stdio buffers", "buffers of stdin, stdout and open FILEs, reachable from libc"},
    {"locale data", "data loaded by setlocale, kept until the process ends"},
    {"time zone data", "the time zone tzset loads, kept until the process ends"},
    {"exit handler blocks", "blocks holding atexit handlers beyond the first 32"},
};

bool IsComment(absl::string_view line) { return line.empty() || line[0] == '#'; }

// "ns::f(int) const" -> "ns::f": the name without its final parameter list.
absl::string_view WithoutParameters(absl::string_view name) {
  absl::string_view rest = name;
  if (absl::EndsWith(rest, " const")) rest.remove_suffix(6);
  if (rest.empty() || rest.back() != ')') return name;
  int depth = 0;
  for (size_t i = rest.size(); i-- > 0;) {
    if (rest[i] == ')') ++depth;
    if (rest[i] == '(' && --depth == 0) return i == 0 ? name : rest.substr(0, i);
  }
  return name;
}

absl::string_view BaseName(absl::string_view path) {
  size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

// One frame of the stack as valgrind-style patterns see it.
struct FrameView {
  absl::string_view function;
  absl::string_view file;
  int line = 0;
  absl::string_view module;
  bool allocator = false;
};

bool FrameMatches(const FramePattern& p, const FrameView& f) {
  switch (p.type) {
    case FramePattern::Type::kFunction: {
      absl::string_view name = f.function.empty() ? "???" : f.function;
      if (GlobMatch(p.pattern, name)) return true;
      return p.pattern.find('(') == std::string::npos &&
             GlobMatch(p.pattern, WithoutParameters(name));
    }
    case FramePattern::Type::kObject:
      // The allocator's own module differs between tools (valgrind's is its
      // preload): any object pattern matches it.
      if (f.allocator) return true;
      return GlobMatch(p.pattern, f.module.empty() ? "???" : f.module);
    case FramePattern::Type::kSource:
      if (f.file.empty()) return false;
      if (p.line != 0 && p.line != f.line) return false;
      return GlobMatch(p.pattern, f.file) || GlobMatch(p.pattern, BaseName(f.file));
    case FramePattern::Type::kAnyFrames:
      return true;
  }
  return false;
}

bool MatchFrames(const std::vector<FramePattern>& patterns, size_t pi,
                 const std::vector<FrameView>& frames, size_t fi) {
  for (; pi < patterns.size(); ++pi, ++fi) {
    if (patterns[pi].type == FramePattern::Type::kAnyFrames) {
      if (pi + 1 == patterns.size()) return true;
      for (size_t k = fi; k < frames.size(); ++k) {
        if (MatchFrames(patterns, pi + 1, frames, k)) return true;
      }
      return false;
    }
    if (fi >= frames.size() || !FrameMatches(patterns[pi], frames[fi])) return false;
  }
  return true;
}

std::vector<FrameView> Views(const MatchStack& stack) {
  std::vector<FrameView> views;
  views.reserve(stack.frames->size() + 1);
  FrameView allocator;
  allocator.function = stack.allocator;
  allocator.allocator = true;
  views.push_back(allocator);
  for (const SymbolizedFrame& f : *stack.frames) {
    views.push_back({f.function, f.file, f.line, f.module, false});
  }
  return views;
}

bool MatchesLsan(absl::string_view pattern, const MatchStack& stack) {
  for (const SymbolizedFrame& f : *stack.frames) {
    if (TemplateMatch(pattern, f.function) || TemplateMatch(pattern, f.file) ||
        TemplateMatch(pattern, f.module)) {
      return true;
    }
  }
  return false;
}

bool Matches(const Suppression& s, const MatchStack& stack, const std::vector<FrameView>& views) {
  if (s.style == Suppression::Style::kLeakSanitizer) return MatchesLsan(s.lsan_pattern, stack);
  return MatchFrames(s.frames, 0, views, 0);
}

absl::StatusOr<FramePattern> ParseFrame(absl::string_view line) {
  FramePattern frame;
  if (line == "...") {
    frame.type = FramePattern::Type::kAnyFrames;
    return frame;
  }
  absl::string_view body;
  if (absl::StartsWith(line, "fun:")) {
    frame.type = FramePattern::Type::kFunction;
    body = line.substr(4);
  } else if (absl::StartsWith(line, "obj:")) {
    frame.type = FramePattern::Type::kObject;
    body = line.substr(4);
  } else if (absl::StartsWith(line, "src:")) {
    frame.type = FramePattern::Type::kSource;
    body = line.substr(4);
    size_t colon = body.rfind(':');
    int number = 0;
    if (colon != absl::string_view::npos && absl::SimpleAtoi(body.substr(colon + 1), &number)) {
      frame.line = number;
      body = body.substr(0, colon);
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a frame (fun:, obj:, src: or ...), not '", line, "'"));
  }
  frame.pattern = std::string(body);
  // valgrind writes C++ function names mangled; heapgap's are demangled.
  if (frame.type == FramePattern::Type::kFunction && absl::StartsWith(body, "_Z") &&
      body.find_first_of("*?") == absl::string_view::npos) {
    frame.pattern = DemangleSymbol(std::string_view(body.data(), body.size()));
  }
  return frame;
}

absl::Status ParseKinds(absl::string_view list, LeakKindMask* mask) {
  *mask = 0;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    if (item == "all") {
      *mask |= kCheckedLeakKinds;
    } else if (item == "none") {
    } else if (std::optional<LeakKind> kind = ParseLeakKind(item);
               kind && *kind != LeakKind::kUnchecked) {
      *mask |= KindBit(*kind);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown leak kind '", item, "' (use definite, indirect, possible, reachable, all)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative matching with backtracking to the last `*`.
  size_t p = 0, t = 0, star = absl::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool TemplateMatch(absl::string_view pattern, absl::string_view text) {
  if (text.empty()) return false;
  bool anchored = false;
  if (!pattern.empty() && pattern[0] == '^') {
    anchored = true;
    pattern.remove_prefix(1);
  }
  bool after_star = false;
  while (!pattern.empty()) {
    if (pattern[0] == '*') {
      pattern.remove_prefix(1);
      anchored = false;
      after_star = true;
      continue;
    }
    if (pattern[0] == '$') return text.empty() || after_star;
    if (text.empty()) return false;
    const size_t literal_end = pattern.find_first_of("*$");
    const absl::string_view literal = pattern.substr(0, literal_end);
    const size_t found = text.find(literal);
    if (found == absl::string_view::npos) return false;
    if (anchored && found != 0) return false;
    text.remove_prefix(found + literal.size());
    pattern.remove_prefix(literal.size());
    anchored = false;
    after_star = false;
  }
  return true;
}

std::string AllocatorFrameName(uint32_t op) {
  switch (op) {
    case 1: return "malloc";
    case 2: return "calloc";
    case 3: case 33: return "realloc";
    case 4: case 34: return "reallocarray";
    case 5: return "memalign";
    case 6: return "posix_memalign";
    case 7: return "aligned_alloc";
    case 8: return "valloc";
    case 9: return "pvalloc";
    case 32: return "free";
    default: break;
  }
  static constexpr std::string_view kMangled[] = {
      "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
      "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t", "_ZnwmSt11align_val_tRKSt9nothrow_t",
      "_ZnamSt11align_val_tRKSt9nothrow_t"};                          // ops 10..17
  static constexpr std::string_view kMangledDelete[] = {
      "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
      "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t",
      "_ZdaPvmSt11align_val_t", "_ZdlPvSt11align_val_tRKSt9nothrow_t",
      "_ZdaPvSt11align_val_tRKSt9nothrow_t"};                         // ops 35..46
  if (op >= 10 && op <= 17) return DemangleSymbol(kMangled[op - 10]);
  if (op >= 35 && op <= 46) return DemangleSymbol(kMangledDelete[op - 35]);
  return "???";
}

absl::Status SuppressionSet::AddFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read suppression file '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read suppression file '", path, "'"));
  return AddText(text.str(), path);
}

absl::Status SuppressionSet::AddText(absl::string_view text, absl::string_view origin) {
  std::vector<Suppression> added;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  auto error = [&origin](size_t line_index, absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("suppression file ", origin, ":", line_index + 1, ": ", what));
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = absl::StripAsciiWhitespace(lines[i]);
    if (IsComment(line)) continue;
    if (line == "{") {
      // A valgrind block: name, tool:kind, [extra], [match-leak-kinds], frames, "}".
      Suppression s;
      s.style = Suppression::Style::kValgrind;
      s.origin = absl::StrCat(origin, ":", i + 1);
      enum { kName, kKind, kBody } state = kName;
      bool closed = false;
      bool param_line_pending = false;
      for (++i; i < lines.size(); ++i) {
        absl::string_view body = absl::StripAsciiWhitespace(lines[i]);
        if (IsComment(body)) continue;
        if (body == "}") {
          closed = true;
          break;
        }
        if (state == kName) {
          s.name = std::string(body);
          state = kKind;
        } else if (state == kKind) {
          const size_t colon = body.find(':');
          if (colon == absl::string_view::npos) {
            return error(i, absl::StrCat("expected TOOL:KIND (e.g. Memcheck:Leak), not '", body, "'"));
          }
          bool memcheck = false;
          for (absl::string_view tool : absl::StrSplit(body.substr(0, colon), ',')) {
            if (tool == "Memcheck" || tool == "memcheck") memcheck = true;
          }
          const absl::string_view kind = body.substr(colon + 1);
          s.target = !memcheck          ? Suppression::Target::kNone
                     : kind == "Leak"   ? Suppression::Target::kLeak
                     : kind == "Free"   ? Suppression::Target::kReleaseError
                                        : Suppression::Target::kNone;
          param_line_pending = memcheck && kind == "Param";
          state = kBody;
        } else if (param_line_pending) {
          param_line_pending = false;  // the parameter's name
        } else if (absl::StartsWith(body, "match-leak-kinds:")) {
          if (absl::Status status = ParseKinds(body.substr(17), &s.kinds); !status.ok()) {
            return error(i, status.message());
          }
        } else if (s.target == Suppression::Target::kNone) {
          continue;  // frames of a suppression for another tool or error kind
        } else {
          absl::StatusOr<FramePattern> frame = ParseFrame(body);
          if (!frame.ok()) return error(i, frame.status().message());
          s.frames.push_back(std::move(*frame));
        }
      }
      if (!closed) return error(lines.size() - 1, "suppression block without its closing '}'");
      if (state != kBody) return error(i, "suppression block without TOOL:KIND");
      if (s.target != Suppression::Target::kNone && s.frames.empty()) {
        return error(i, "suppression block without frames");
      }
      if (s.target != Suppression::Target::kNone) added.push_back(std::move(s));
      continue;
    }
    // LeakSanitizer: TYPE:PATTERN.
    const size_t colon = line.find(':');
    const absl::string_view type = line.substr(0, colon);
    if (colon == absl::string_view::npos || type.empty() ||
        !std::all_of(type.begin(), type.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '_'; })) {
      return error(i, absl::StrCat("expected 'leak:PATTERN' or a '{' block, not '", line, "'"));
    }
    if (type != "leak") continue;
    const absl::string_view pattern = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (pattern.empty()) return error(i, "'leak:' without a pattern");
    Suppression s;
    s.style = Suppression::Style::kLeakSanitizer;
    s.name = absl::StrCat("leak:", pattern);
    s.origin = absl::StrCat(origin, ":", i + 1);
    s.lsan_pattern = std::string(pattern);
    added.push_back(std::move(s));
  }
  for (Suppression& s : added) suppressions_.push_back(std::move(s));
  return absl::OkStatus();
}

void SuppressionSet::AddBuiltIns() {
  const size_t first = suppressions_.size();
  absl::Status parsed = AddText(kBuiltInText, "built-in");
  if (!parsed.ok()) return;  // the text is a constant; tests parse it
  for (size_t i = first; i < suppressions_.size(); ++i) {
    Suppression& s = suppressions_[i];
    s.style = Suppression::Style::kBuiltIn;
    s.origin = "built-in";
    for (const BuiltInDescription& d : kBuiltInDescriptions) {
      if (d.name == s.name) s.description = std::string(d.description);
    }
  }
}

int SuppressionSet::MatchLeak(const MatchStack& stack, LeakKind kind) const {
  const std::vector<FrameView> views = Views(stack);
  for (size_t i = 0; i < suppressions_.size(); ++i) {
    const Suppression& s = suppressions_[i];
    if (s.target != Suppression::Target::kLeak) continue;
    if (kind != LeakKind::kUnchecked && (s.kinds & KindBit(kind)) == 0) continue;
    if (Matches(s, stack, views)) return static_cast<int>(i);
  }
  return -1;
}

int SuppressionSet::MatchReleaseError(const MatchStack& stack) const {
  const std::vector<FrameView> views = Views(stack);
  for (size_t i = 0; i < suppressions_.size(); ++i) {
    const Suppression& s = suppressions_[i];
    if (s.target != Suppression::Target::kReleaseError) continue;
    if (Matches(s, stack, views)) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace heapgap::report
