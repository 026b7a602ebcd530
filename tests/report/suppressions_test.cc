// Suppression files: LeakSanitizer and valgrind formats, wildcards, frame
// lists, leak kinds, the built-in set, and errors in files.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "report/suppressions.h"
#include "tests/report/trace_builder.h"

namespace heapgap::testing {
namespace {

using report::LeakKind;
using report::MatchStack;
using report::SuppressionSet;

SymbolizedFrame Frame(const std::string& function, const std::string& file = "", int line = 0,
                      const std::string& module = "/usr/bin/app") {
  SymbolizedFrame f;
  f.function = function;
  f.file = file;
  f.line = line;
  f.module = module;
  return f;
}

SuppressionSet Parse(const std::string& text) {
  SuppressionSet set;
  absl::Status status = set.AddText(text, "test.supp");
  EXPECT_TRUE(status.ok()) << status;
  return set;
}

TEST(GlobTest, StarsAndQuestionMarks) {
  EXPECT_TRUE(report::GlobMatch("*", ""));
  EXPECT_TRUE(report::GlobMatch("foo", "foo"));
  EXPECT_FALSE(report::GlobMatch("foo", "foobar"));
  EXPECT_TRUE(report::GlobMatch("foo*", "foobar"));
  EXPECT_TRUE(report::GlobMatch("*bar", "foobar"));
  EXPECT_TRUE(report::GlobMatch("f?o*b*r", "fooxbazr"));
  EXPECT_FALSE(report::GlobMatch("f?o", "fo"));
  EXPECT_TRUE(report::GlobMatch("*/libstdc++.so*", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"));
}

TEST(GlobTest, LeakSanitizerTemplates) {
  EXPECT_TRUE(report::TemplateMatch("Cache", "Cache::insert(int)"));      // substring
  EXPECT_TRUE(report::TemplateMatch("insert", "Cache::insert(int)"));
  EXPECT_FALSE(report::TemplateMatch("^insert", "Cache::insert(int)"));   // anchored start
  EXPECT_TRUE(report::TemplateMatch("^Cache::*(int)$", "Cache::insert(int)"));
  EXPECT_FALSE(report::TemplateMatch("insert$", "Cache::insert(int)"));   // anchored end
  EXPECT_TRUE(report::TemplateMatch("libfoo.so", "/opt/lib/libfoo.so"));
  EXPECT_FALSE(report::TemplateMatch("anything", ""));
}

TEST(SuppressionsTest, LeakSanitizerPatternsMatchFunctionFileOrModule) {
  const SuppressionSet set = Parse(
      "# third-party code we do not own\n"
      "leak:ThirdParty::*\n"
      "leak:vendor/parser.c\n"
      "leak:libplugin.so\n"
      "race:not_a_leak_rule\n"
      "\n");
  ASSERT_EQ(set.size(), 3u);
  const std::vector<SymbolizedFrame> by_function = {Frame("ThirdParty::Load()"), Frame("main")};
  const std::vector<SymbolizedFrame> by_file = {Frame("parse", "/src/vendor/parser.c", 12)};
  const std::vector<SymbolizedFrame> by_module = {Frame("", "", 0, "/opt/lib/libplugin.so")};
  const std::vector<SymbolizedFrame> other = {Frame("mine", "/src/mine.c", 3), Frame("main")};
  EXPECT_EQ(set.MatchLeak({"malloc", &by_function}, LeakKind::kDefinitelyLost), 0);
  EXPECT_EQ(set.MatchLeak({"malloc", &by_file}, LeakKind::kStillReachable), 1);
  EXPECT_EQ(set.MatchLeak({"malloc", &by_module}, LeakKind::kPossiblyLost), 2);
  EXPECT_EQ(set.MatchLeak({"malloc", &other}, LeakKind::kDefinitelyLost), -1);
  // The allocator's own name is not a frame of the program.
  const SuppressionSet malloc_rule = Parse("leak:malloc\n");
  EXPECT_EQ(malloc_rule.MatchLeak({"malloc", &other}, LeakKind::kDefinitelyLost), -1);
}

TEST(SuppressionsTest, ValgrindFramesStartWithTheAllocatorAndMatchAPrefix) {
  const SuppressionSet set = Parse(
      "{\n"
      "   leak_small is known\n"
      "   Memcheck:Leak\n"
      "   match-leak-kinds: definite\n"
      "   fun:malloc\n"
      "   fun:leak_small\n"
      "   fun:main\n"
      "}\n"
      "{\n"
      "   anything under Cache::insert\n"
      "   Memcheck:Leak\n"
      "   fun:*alloc\n"
      "   ...\n"
      "   fun:Cache::insert\n"
      "   ...\n"
      "}\n"
      "{\n"
      "   from a source line\n"
      "   Memcheck:Leak\n"
      "   match-leak-kinds: possible,reachable\n"
      "   obj:*\n"
      "   src:widget.cc:77\n"
      "}\n");
  ASSERT_EQ(set.size(), 3u);
  const std::vector<SymbolizedFrame> small = {Frame("leak_small"), Frame("main"), Frame("_start")};
  EXPECT_EQ(set.MatchLeak({"malloc", &small}, LeakKind::kDefinitelyLost), 0);
  EXPECT_EQ(set.MatchLeak({"calloc", &small}, LeakKind::kDefinitelyLost), -1);   // fun:malloc
  EXPECT_EQ(set.MatchLeak({"malloc", &small}, LeakKind::kIndirectlyLost), -1);   // kinds
  EXPECT_EQ(set.MatchLeak({"malloc", &small}, LeakKind::kUnchecked), 0);         // unchecked: any
  const std::vector<SymbolizedFrame> short_stack = {Frame("leak_small")};
  EXPECT_EQ(set.MatchLeak({"malloc", &short_stack}, LeakKind::kDefinitelyLost), -1);

  // `...` spans frames; a pattern without parameters matches a C++ name.
  const std::vector<SymbolizedFrame> cache = {Frame("Node::Node(int)"), Frame("Cache::insert(int, Node*)"),
                                              Frame("main")};
  EXPECT_EQ(set.MatchLeak({"realloc", &cache}, LeakKind::kDefinitelyLost), 1);
  const std::vector<SymbolizedFrame> direct = {Frame("Cache::insert(int, Node*)")};
  EXPECT_EQ(set.MatchLeak({"malloc", &direct}, LeakKind::kDefinitelyLost), 1);

  const std::vector<SymbolizedFrame> widget = {Frame("Widget::Widget()", "/src/ui/widget.cc", 77)};
  const std::vector<SymbolizedFrame> widget_other_line = {Frame("Widget::Widget()", "/src/ui/widget.cc", 78)};
  EXPECT_EQ(set.MatchLeak({"operator new(unsigned long)", &widget}, LeakKind::kPossiblyLost), 2);
  EXPECT_EQ(set.MatchLeak({"operator new(unsigned long)", &widget_other_line}, LeakKind::kPossiblyLost), -1);
  EXPECT_EQ(set.MatchLeak({"operator new(unsigned long)", &widget}, LeakKind::kDefinitelyLost), -1);
}

TEST(SuppressionsTest, ValgrindMangledNamesAndOtherToolsAndKinds) {
  const SuppressionSet set = Parse(
      "{\n"
      "   as --gen-suppressions writes them\n"
      "   Memcheck:Leak\n"
      "   match-leak-kinds: all\n"
      "   fun:_Znwm\n"
      "   fun:_ZN5Cache6insertEi\n"
      "}\n"
      "{\n"
      "   an uninitialised-value rule: never a leak\n"
      "   Memcheck:Cond\n"
      "   fun:strlen\n"
      "}\n"
      "{\n"
      "   a parameter rule has an extra line\n"
      "   Memcheck:Param\n"
      "   write(buf)\n"
      "   fun:write\n"
      "}\n"
      "{\n"
      "   another tool\n"
      "   Helgrind:Race\n"
      "   fun:*\n"
      "}\n"
      "{\n"
      "   mismatched delete in legacy code\n"
      "   Memcheck:Free\n"
      "   fun:operator delete*\n"
      "   fun:Legacy::*\n"
      "}\n");
  ASSERT_EQ(set.size(), 2u);
  const std::vector<SymbolizedFrame> cache = {Frame("Cache::insert(int)"), Frame("main")};
  EXPECT_EQ(set.MatchLeak({report::AllocatorFrameName(kNew), &cache}, LeakKind::kStillReachable), 0);
  EXPECT_EQ(set.MatchLeak({report::AllocatorFrameName(kNewArray), &cache}, LeakKind::kStillReachable), -1);
  const std::vector<SymbolizedFrame> legacy = {Frame("Legacy::Drop()")};
  EXPECT_EQ(set.MatchReleaseError({report::AllocatorFrameName(kDelete), &legacy}), 1);
  EXPECT_EQ(set.MatchReleaseError({report::AllocatorFrameName(kFree), &legacy}), -1);
  EXPECT_EQ(set.MatchLeak({"malloc", &legacy}, LeakKind::kDefinitelyLost), -1);  // Free != Leak
}

TEST(SuppressionsTest, AllocatorFrameNamesAreValgrindsDemangledNames) {
  EXPECT_EQ(report::AllocatorFrameName(kMalloc), "malloc");
  EXPECT_EQ(report::AllocatorFrameName(kRealloc), "realloc");
  EXPECT_EQ(report::AllocatorFrameName(kReallocFree), "realloc");
  EXPECT_EQ(report::AllocatorFrameName(kNew), "operator new(unsigned long)");
  EXPECT_EQ(report::AllocatorFrameName(kNewArray), "operator new[](unsigned long)");
  EXPECT_EQ(report::AllocatorFrameName(kNewAligned), "operator new(unsigned long, std::align_val_t)");
  EXPECT_EQ(report::AllocatorFrameName(kDelete), "operator delete(void*)");
  EXPECT_EQ(report::AllocatorFrameName(kDeleteSized), "operator delete(void*, unsigned long)");
}

TEST(SuppressionsTest, BadFilesAreErrorsNamingFileAndLine) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"this is not a rule\n", "test.supp:1: expected 'leak:PATTERN'"},
      {"leak:\n", "test.supp:1: 'leak:' without a pattern"},
      {"{\n  name\n  Memcheck:Leak\n  fun:malloc\n", "without its closing '}'"},
      {"{\n  name\n  Memcheck:Leak\n  match-leak-kinds: sometimes\n  fun:x\n}\n",
       "test.supp:4: unknown leak kind 'sometimes'"},
      {"{\n  name\n  Memcheck:Leak\n  frame:x\n}\n", "test.supp:4: expected a frame"},
      {"{\n  name\n  Memcheck:Leak\n}\n", "without frames"},
      {"{\n  name\n}\n", "without TOOL:KIND"},
  };
  for (const Case& c : cases) {
    SuppressionSet set;
    absl::Status status = set.AddText(c.text, "test.supp");
    EXPECT_FALSE(status.ok()) << c.text;
    EXPECT_TRUE(absl::StrContains(status.message(), c.message)) << status.message();
    EXPECT_EQ(set.size(), 0u) << "nothing of a bad file is kept";
  }
  SuppressionSet set;
  absl::Status missing = set.AddFile(::testing::TempDir() + "no-such-file.supp");
  EXPECT_TRUE(absl::StrContains(missing.message(), "cannot read suppression file")) << missing;
}

TEST(SuppressionsTest, SeveralFilesAddUp) {
  SuppressionSet set;
  ASSERT_TRUE(set.AddFile(WriteTempFile("one.supp", "leak:alpha\n")).ok());
  ASSERT_TRUE(set.AddFile(WriteTempFile("two.supp", "{\n n\n Memcheck:Leak\n fun:*\n fun:beta\n}\n")).ok());
  ASSERT_EQ(set.size(), 2u);
  const std::vector<SymbolizedFrame> beta = {Frame("beta")};
  EXPECT_EQ(set.MatchLeak({"malloc", &beta}, LeakKind::kDefinitelyLost), 1);
  EXPECT_TRUE(absl::EndsWith(set.suppressions()[1].origin, "two.supp:1")) << set.suppressions()[1].origin;
}

TEST(SuppressionsTest, BuiltInsCoverWhatTheRuntimesKeep) {
  SuppressionSet set;
  set.AddBuiltIns();
  ASSERT_GE(set.size(), 5u);
  for (const report::Suppression& s : set.suppressions()) {
    EXPECT_EQ(s.origin, "built-in");
    EXPECT_FALSE(s.description.empty()) << s.name;
  }
  const std::string ld = "/lib64/ld-linux-x86-64.so.2";
  const std::string libstdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
  // The emergency exception pool: libstdc++'s initializer, run by ld.so.
  const std::vector<SymbolizedFrame> pool = {Frame("", "", 0, libstdcxx), Frame("", "", 0, libstdcxx),
                                             Frame("call_init", "", 0, ld), Frame("_dl_init", "", 0, ld)};
  EXPECT_GE(set.MatchLeak({"malloc", &pool}, LeakKind::kStillReachable), 0);
  EXPECT_GE(set.MatchLeak({"malloc", &pool}, LeakKind::kUnchecked), 0);
  EXPECT_EQ(set.MatchLeak({"malloc", &pool}, LeakKind::kDefinitelyLost), -1);
  // A DTV or dynamic TLS block, whatever its kind.
  const std::vector<SymbolizedFrame> dtv = {Frame("", "", 0, ld), Frame("pthread_create", "", 0, "/lib/libc.so.6")};
  EXPECT_GE(set.MatchLeak({"calloc", &dtv}, LeakKind::kDefinitelyLost), 0);
  const std::vector<SymbolizedFrame> tls = {Frame("tls_get_addr_tail", "", 0, "/lib/libc.so.6"),
                                            Frame("__tls_get_addr", "", 0, ld)};
  EXPECT_GE(set.MatchLeak({"malloc", &tls}, LeakKind::kIndirectlyLost), 0);
  // stdout's buffer while still reachable; a lost one is reported.
  const std::vector<SymbolizedFrame> stdio = {Frame("_IO_file_doallocate", "", 0, "/lib/libc.so.6"),
                                              Frame("_IO_doallocbuf"), Frame("puts"), Frame("main")};
  EXPECT_GE(set.MatchLeak({"malloc", &stdio}, LeakKind::kStillReachable), 0);
  EXPECT_EQ(set.MatchLeak({"malloc", &stdio}, LeakKind::kDefinitelyLost), -1);
  // The program's own allocations are never built-in suppressed.
  const std::vector<SymbolizedFrame> mine = {Frame("make_cache", "/src/app.c", 10), Frame("main")};
  for (LeakKind kind : report::kLeakKindsInReportOrder) {
    EXPECT_EQ(set.MatchLeak({"malloc", &mine}, kind), -1);
  }
}

}  // namespace
}  // namespace heapgap::testing
