#include "symbolizer/symbolizer.h"

#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

// Functions with a known shape whose return addresses the tests symbolize.
// Each records the line of its call next to the call, on the same line.
namespace symbolizer_fixtures {

struct Capture {
  uintptr_t return_address;
  int line;
};

__attribute__((noinline)) uintptr_t CaptureReturnAddress() {
  uintptr_t address = reinterpret_cast<uintptr_t>(
      __builtin_extract_return_addr(__builtin_return_address(0)));
  asm volatile("" : "+r"(address));
  return address;
}

__attribute__((noinline)) Capture PlainCaller() {
  Capture capture{CaptureReturnAddress(), __LINE__};
  // Using the result after the call keeps it from becoming a tail call.
  asm volatile("" : "+r"(capture.return_address));
  return capture;
}

__attribute__((always_inline)) inline Capture InlinedHelper() {
  Capture capture{CaptureReturnAddress(), __LINE__};
  asm volatile("" : "+r"(capture.return_address));
  return capture;
}

struct InlineCapture {
  uintptr_t return_address;
  int inlined_line;  // the call inside InlinedHelper
  int outer_line;    // the call of InlinedHelper inside OuterOfInlined
};

__attribute__((noinline)) InlineCapture OuterOfInlined() {
  Capture inner = InlinedHelper(); const int outer_line = __LINE__;
  asm volatile("" : "+r"(inner.return_address));
  return {inner.return_address, inner.line, outer_line};
}

class Widget {
 public:
  __attribute__((noinline)) static Capture Build(int count, const char* name);
};

Capture Widget::Build(int count, const char* name) {
  Capture capture{CaptureReturnAddress(), __LINE__};
  asm volatile("" : "+r"(capture.return_address) : "r"(count), "r"(name));
  return capture;
}

}  // namespace symbolizer_fixtures

namespace heapgap {
namespace {

using symbolizer_fixtures::Capture;

// The loaded module containing `address`, described as the tracer records it.
struct ModuleSearch {
  uintptr_t address;
  bool found = false;
  ModuleInfo info;
};

std::string BuildIdFromNotes(const dl_phdr_info* object) {
  for (int i = 0; i < object->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = object->dlpi_phdr[i];
    if (phdr.p_type != PT_NOTE) continue;
    const char* note = reinterpret_cast<const char*>(object->dlpi_addr + phdr.p_vaddr);
    const char* end = note + phdr.p_memsz;
    while (note + sizeof(ElfW(Nhdr)) <= end) {
      const auto* header = reinterpret_cast<const ElfW(Nhdr)*>(note);
      const char* name = note + sizeof(ElfW(Nhdr));
      const char* desc = name + ((header->n_namesz + 3) & ~3u);
      if (header->n_type == NT_GNU_BUILD_ID && header->n_namesz == 4 &&
          std::string(name, 4) == std::string("GNU\0", 4)) {
        return std::string(desc, header->n_descsz);
      }
      note = desc + ((header->n_descsz + 3) & ~3u);
    }
  }
  return "";
}

int FindModuleCallback(dl_phdr_info* object, size_t, void* data) {
  auto* search = static_cast<ModuleSearch*>(data);
  std::vector<ModuleSegment> segments;
  bool contains = false;
  for (int i = 0; i < object->dlpi_phnum; ++i) {
    const ElfW(Phdr)& phdr = object->dlpi_phdr[i];
    if (phdr.p_type != PT_LOAD) continue;
    const uint64_t start = object->dlpi_addr + phdr.p_vaddr;
    segments.push_back({start, phdr.p_memsz, phdr.p_flags, phdr.p_offset});
    if (search->address >= start && search->address - start < phdr.p_memsz) {
      contains = true;
    }
  }
  if (!contains) return 0;
  search->found = true;
  search->info.path = object->dlpi_name;
  if (search->info.path.empty()) {  // the main program
    search->info.path = std::filesystem::read_symlink("/proc/self/exe");
  }
  search->info.build_id = BuildIdFromNotes(object);
  search->info.load_bias = object->dlpi_addr;
  search->info.segments = std::move(segments);
  return 1;
}

ModuleInfo ModuleContaining(uintptr_t address) {
  ModuleSearch search;
  search.address = address;
  dl_iterate_phdr(FindModuleCallback, &search);
  EXPECT_TRUE(search.found) << "no module contains " << std::hex << address;
  return search.info;
}

std::string Basename(const std::string& path) {
  return std::filesystem::path(path).filename();
}

// Where separate debug info for `build_id` would be installed.
std::string BuildIdDebugPath(const std::string& root,
                             const std::string& build_id) {
  const std::string hex = absl::BytesToHexString(build_id);
  return absl::StrCat(root, "/.build-id/", hex.substr(0, 2), "/", hex.substr(2),
                      ".debug");
}

bool HaveTool(const char* tool) {
  return std::system(absl::StrCat("command -v ", tool, " >/dev/null 2>&1").c_str()) == 0;
}

// A fresh directory under the test temp dir.
std::string MakeTempDir() {
  std::string pattern = absl::StrCat(testing::TempDir(), "/symbolizer_XXXXXX");
  char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  return pattern;
}

TEST(SymbolizerTest, FunctionFileAndLineOfACallInTheTestBinary) {
  const Capture capture = symbolizer_fixtures::PlainCaller();
  const ModuleInfo module = ModuleContaining(capture.return_address);
  ASSERT_FALSE(module.build_id.empty());

  Symbolizer symbolizer;
  std::vector<SymbolizedFrame> frames =
      symbolizer.Symbolize(module, capture.return_address);
  ASSERT_EQ(frames.size(), 1u);
  const SymbolizedFrame& frame = frames[0];
  EXPECT_EQ(frame.function, "symbolizer_fixtures::PlainCaller()");
  EXPECT_EQ(Basename(frame.file), "symbolizer_test.cc");
  EXPECT_EQ(frame.line, capture.line);
  EXPECT_FALSE(frame.inlined);
  EXPECT_EQ(frame.address, capture.return_address);
  EXPECT_EQ(frame.module, module.path);
  EXPECT_EQ(frame.module_offset, capture.return_address - module.load_bias);
}

TEST(SymbolizerTest, InlinedCallGivesInlinedFrameThenOuterFunction) {
  const symbolizer_fixtures::InlineCapture capture =
      symbolizer_fixtures::OuterOfInlined();
  const ModuleInfo module = ModuleContaining(capture.return_address);

  Symbolizer symbolizer;
  std::vector<SymbolizedFrame> frames =
      symbolizer.Symbolize(module, capture.return_address);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].function, "symbolizer_fixtures::InlinedHelper()");
  EXPECT_EQ(frames[0].line, capture.inlined_line);
  EXPECT_EQ(Basename(frames[0].file), "symbolizer_test.cc");
  EXPECT_TRUE(frames[0].inlined);
  EXPECT_EQ(frames[1].function, "symbolizer_fixtures::OuterOfInlined()");
  EXPECT_EQ(frames[1].line, capture.outer_line);
  EXPECT_EQ(Basename(frames[1].file), "symbolizer_test.cc");
  EXPECT_FALSE(frames[1].inlined);
  for (const SymbolizedFrame& frame : frames) {
    EXPECT_EQ(frame.address, capture.return_address);
    EXPECT_EQ(frame.module, module.path);
  }
}

TEST(SymbolizerTest, CxxNameIsDemangled) {
  const Capture capture = symbolizer_fixtures::Widget::Build(3, "x");
  const ModuleInfo module = ModuleContaining(capture.return_address);

  Symbolizer symbolizer;
  std::vector<SymbolizedFrame> frames =
      symbolizer.Symbolize(module, capture.return_address);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].function,
            "symbolizer_fixtures::Widget::Build(int, char const*)");
  EXPECT_EQ(frames[0].line, capture.line);
}

// Runs `addr2line -f -i -C` on one file address; one (function, file:line)
// pair per frame, innermost first.
std::vector<std::pair<std::string, std::string>> Addr2line(
    const std::string& file, uint64_t file_address) {
  const std::string command = absl::StrCat("addr2line -f -i -C -e '", file,
                                           "' 0x", absl::Hex(file_address));
  std::vector<std::pair<std::string, std::string>> frames;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return frames;
  std::vector<std::string> lines;
  char buffer[4096];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) {
    lines.emplace_back(absl::StripSuffix(buffer, "\n"));
  }
  pclose(pipe);
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    // "file:line (discriminator N)" -> "file:line"
    std::string location = lines[i + 1];
    location = location.substr(0, location.find(" (discriminator"));
    frames.emplace_back(lines[i], location);
  }
  return frames;
}

TEST(SymbolizerTest, MatchesAddr2line) {
  if (!HaveTool("addr2line")) GTEST_SKIP() << "addr2line not installed";
  const std::vector<uintptr_t> addresses = {
      symbolizer_fixtures::PlainCaller().return_address,
      symbolizer_fixtures::OuterOfInlined().return_address,
      symbolizer_fixtures::Widget::Build(1, "y").return_address,
  };
  Symbolizer symbolizer;
  for (uintptr_t address : addresses) {
    const ModuleInfo module = ModuleContaining(address);
    std::vector<SymbolizedFrame> frames = symbolizer.Symbolize(module, address);
    auto expected = Addr2line(module.path, address - 1 - module.load_bias);
    ASSERT_EQ(frames.size(), expected.size()) << std::hex << address;
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(frames[i].function, expected[i].first);
      EXPECT_EQ(absl::StrCat(frames[i].file, ":", frames[i].line),
                expected[i].second);
    }
  }
}

uintptr_t libc_return_address = 0;

int CompareCapturingReturnAddress(const void* a, const void* b) {
  libc_return_address = reinterpret_cast<uintptr_t>(
      __builtin_extract_return_addr(__builtin_return_address(0)));
  return *static_cast<const int*>(a) - *static_cast<const int*>(b);
}

TEST(SymbolizerTest, LibcAddressGivesLibcModuleAndFunction) {
  int values[] = {3, 1, 2};
  qsort(values, 3, sizeof(int), CompareCapturingReturnAddress);
  ASSERT_NE(libc_return_address, 0u);
  const ModuleInfo module = ModuleContaining(libc_return_address);
  ASSERT_TRUE(absl::StrContains(module.path, "libc.so")) << module.path;

  Symbolizer symbolizer;
  std::vector<SymbolizedFrame> frames =
      symbolizer.Symbolize(module, libc_return_address);
  ASSERT_FALSE(frames.empty());
  const SymbolizedFrame& outer = frames.back();
  EXPECT_EQ(outer.module, module.path);
  EXPECT_EQ(outer.module_offset, libc_return_address - module.load_bias);
  // With libc's separate debug info installed, the sort routine that called
  // the comparator is known by name and line.
  if (access(BuildIdDebugPath("/usr/lib/debug", module.build_id).c_str(),
             R_OK) == 0) {
    EXPECT_TRUE(absl::StrContains(outer.function, "sort")) << outer.function;
    EXPECT_NE(frames[0].line, 0);
    EXPECT_FALSE(frames[0].file.empty());
  }
}

TEST(SymbolizerTest, MissingFileGivesModuleAndOffset) {
  ModuleInfo module;
  module.path = "/nonexistent/libmissing.so";
  module.build_id = std::string("\x12\x34\x56\x78\x9a\xbc\xde\xf0", 8);
  module.load_bias = 0x7f0000000000;
  module.segments = {{0x7f0000000000, 0x10000, 5, 0}};

  Symbolizer symbolizer;
  std::vector<SymbolizedFrame> frames =
      symbolizer.Symbolize(module, 0x7f0000001234);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].address, 0x7f0000001234u);
  EXPECT_EQ(frames[0].module, "/nonexistent/libmissing.so");
  EXPECT_EQ(frames[0].module_offset, 0x1234u);
  EXPECT_EQ(frames[0].function, "");
  EXPECT_EQ(frames[0].file, "");
  EXPECT_EQ(frames[0].line, 0);
}

TEST(SymbolizerTest, WrongBuildIdDoesNotUseTheFile) {
  const Capture capture = symbolizer_fixtures::PlainCaller();
  ModuleInfo module = ModuleContaining(capture.return_address);
  module.build_id = std::string(20, '\x5a');  // another binary than on disk

  Symbolizer symbolizer;
  std::vector<SymbolizedFrame> frames =
      symbolizer.Symbolize(module, capture.return_address);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].function, "");
  EXPECT_EQ(frames[0].file, "");
  EXPECT_EQ(frames[0].line, 0);
  EXPECT_EQ(frames[0].module, module.path);
  EXPECT_EQ(frames[0].module_offset, capture.return_address - module.load_bias);
}

TEST(SymbolizerTest, UnusableModulesAndStrayAddressesGiveBareFrames) {
  const std::string dir = MakeTempDir();
  const std::string not_elf = absl::StrCat(dir, "/not_elf.so");
  std::ofstream(not_elf) << "just text, not an ELF file\n";
  const Capture capture = symbolizer_fixtures::PlainCaller();
  const ModuleInfo real = ModuleContaining(capture.return_address);

  ModuleInfo non_elf{not_elf, "", 0x400000, {{0x400000, 0x1000, 5, 0}}};
  ModuleInfo directory{dir, "", 0x600000, {{0x600000, 0x1000, 5, 0}}};
  ModuleInfo vdso{"[vdso]", "", 0x7ffd00000000, {{0x7ffd00000000, 0x2000, 5, 0}}};
  ModuleInfo empty_path{"", "", 0x500000, {{0x500000, 0x1000, 5, 0}}};
  ModuleInfo outside = real;
  uint64_t end = 0;
  for (const ModuleSegment& segment : real.segments) {
    end = std::max(end, segment.start + segment.size);
  }

  Symbolizer symbolizer;
  struct Case {
    const ModuleInfo* module;
    uint64_t address;
  };
  for (const Case& c :
       {Case{&non_elf, 0x400100}, Case{&directory, 0x600100},
        Case{&vdso, 0x7ffd00000800}, Case{&empty_path, 0x500010},
        Case{&outside, end + 0x100}}) {
    std::vector<SymbolizedFrame> frames =
        symbolizer.Symbolize(*c.module, c.address);
    ASSERT_EQ(frames.size(), 1u) << c.module->path;
    EXPECT_EQ(frames[0].function, "") << c.module->path;
    EXPECT_EQ(frames[0].line, 0);
    EXPECT_EQ(frames[0].module, c.module->path);
    EXPECT_EQ(frames[0].module_offset, c.address - c.module->load_bias);
  }
}

TEST(SymbolizerTest, UnknownFrameHasOnlyTheAddress) {
  SymbolizedFrame frame = Symbolizer::Unknown(0xdeadbeef);
  EXPECT_EQ(frame.address, 0xdeadbeefu);
  EXPECT_EQ(frame.module, "");
  EXPECT_EQ(frame.function, "");
  EXPECT_EQ(frame.line, 0);
}

TEST(SymbolizerTest, ModuleOpensOnceForAnyAddressAndLoadBias) {
  const Capture plain = symbolizer_fixtures::PlainCaller();
  const Capture widget = symbolizer_fixtures::Widget::Build(2, "z");
  const ModuleInfo module = ModuleContaining(plain.return_address);

  // The same file seen in another process at another load bias.
  ModuleInfo moved = module;
  const uint64_t shift = 0x10000000;
  moved.load_bias += shift;
  for (ModuleSegment& segment : moved.segments) segment.start += shift;

  Symbolizer symbolizer;
  auto first = symbolizer.Symbolize(module, plain.return_address);
  auto second = symbolizer.Symbolize(module, widget.return_address);
  auto moved_frames = symbolizer.Symbolize(moved, plain.return_address + shift);

  const Symbolizer::Stats stats = symbolizer.stats();
  EXPECT_EQ(stats.modules_opened, 1u);
  EXPECT_EQ(stats.lookups, 3u);
  EXPECT_EQ(stats.cache_hits, 1u);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(moved_frames.size(), 1u);
  EXPECT_EQ(first[0].line, plain.line);
  EXPECT_EQ(second[0].line, widget.line);
  EXPECT_EQ(moved_frames[0].function, first[0].function);
  EXPECT_EQ(moved_frames[0].line, first[0].line);
  EXPECT_EQ(moved_frames[0].address, plain.return_address + shift);
  EXPECT_EQ(moved_frames[0].module_offset, first[0].module_offset);
}

// A stripped copy of the test binary plus its debug info under
// <root>/.build-id/, as a -dbg package installs it.
class SeparateDebugInfoTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("objcopy") || !HaveTool("strip")) {
      GTEST_SKIP() << "binutils not installed";
    }
    capture_ = symbolizer_fixtures::PlainCaller();
    module_ = ModuleContaining(capture_.return_address);
    const std::string dir = MakeTempDir();
    debug_root_ = absl::StrCat(dir, "/debug");
    stripped_ = absl::StrCat(dir, "/stripped_test");
    const std::string debug_file = BuildIdDebugPath(debug_root_, module_.build_id);
    std::filesystem::create_directories(
        std::filesystem::path(debug_file).parent_path());
    ASSERT_EQ(std::system(absl::StrCat("objcopy --only-keep-debug '",
                                       module_.path, "' '", debug_file, "'")
                              .c_str()),
              0);
    ASSERT_EQ(std::system(absl::StrCat("strip --strip-all -o '", stripped_,
                                       "' '", module_.path, "'")
                              .c_str()),
              0);
  }

  void ExpectFullySymbolized(const ModuleInfo& module) {
    Symbolizer symbolizer(Symbolizer::Options{{debug_root_}});
    auto frames = symbolizer.Symbolize(module, capture_.return_address);
    ASSERT_EQ(frames.size(), 1u) << module.path;
    EXPECT_EQ(frames[0].function, "symbolizer_fixtures::PlainCaller()")
        << module.path;
    EXPECT_EQ(frames[0].line, capture_.line) << module.path;
    EXPECT_EQ(Basename(frames[0].file), "symbolizer_test.cc") << module.path;
    EXPECT_EQ(frames[0].module, module.path);
  }

  Capture capture_;
  ModuleInfo module_;
  std::string debug_root_;
  std::string stripped_;
};

TEST_F(SeparateDebugInfoTest, StrippedFileUsesDebugInfoByBuildId) {
  ModuleInfo stripped = module_;
  stripped.path = stripped_;
  ExpectFullySymbolized(stripped);

  // Without the debug root only the stripped file is left: no names.
  Symbolizer no_debug(Symbolizer::Options{{}});
  auto frames = no_debug.Symbolize(stripped, capture_.return_address);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].function, "");
  EXPECT_EQ(frames[0].module_offset,
            capture_.return_address - stripped.load_bias);
}

TEST_F(SeparateDebugInfoTest, MissingFileUsesDebugInfoByBuildId) {
  ModuleInfo missing = module_;
  missing.path = "/nonexistent/symbolizer_test";
  ExpectFullySymbolized(missing);
}

TEST_F(SeparateDebugInfoTest, ReplacedFileUsesOnlyDebugInfoByBuildId) {
  // The path now holds a rebuilt binary: same code, another build-id. Its
  // symbols must not be used, but the recorded build-id still finds the right
  // debug info.
  std::ifstream in(module_.path, std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  const size_t build_id_at = contents.find(module_.build_id);
  ASSERT_NE(build_id_at, std::string::npos);
  for (size_t i = 0; i < module_.build_id.size(); ++i) {
    contents[build_id_at + i] = static_cast<char>(~contents[build_id_at + i]);
  }
  ModuleInfo replaced = module_;
  replaced.path = absl::StrCat(MakeTempDir(), "/rebuilt");
  std::ofstream(replaced.path, std::ios::binary) << contents;

  ExpectFullySymbolized(replaced);

  Symbolizer no_debug(Symbolizer::Options{{}});
  auto frames = no_debug.Symbolize(replaced, capture_.return_address);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].function, "");
  EXPECT_EQ(frames[0].line, 0);
}

TEST(DemangleSymbolTest, StripsVersionsAndDemangles) {
  EXPECT_EQ(DemangleSymbol("memcpy@@GLIBC_2.14"), "memcpy");
  EXPECT_EQ(DemangleSymbol("memcpy@GLIBC_2.2.5"), "memcpy");
  EXPECT_EQ(DemangleSymbol("_ZN3foo3barEv@GLIBC_2.2.5"), "foo::bar()");
  EXPECT_EQ(DemangleSymbol("_Z3fooi.isra.0"), "foo(int) [clone .isra.0]");
  EXPECT_EQ(DemangleSymbol("_Z3foov.cold"), "foo() [clone .cold]");
  EXPECT_EQ(DemangleSymbol("main"), "main");
  EXPECT_EQ(DemangleSymbol("_Znot_mangled"), "_Znot_mangled");
  EXPECT_EQ(DemangleSymbol(""), "");
}

}  // namespace
}  // namespace heapgap
