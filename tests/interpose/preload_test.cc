// Runs preload_probe under libheapgap.so and checks the trace it leaves with
// the generated protobuf classes: what was recorded, in which order, and how
// each way of ending a process shows up.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "interpose/trace_encoding.h"
#include "trace.pb.h"

namespace heapgap {
namespace {

struct Event {
  uint32_t op;
  uint64_t seq, time, address, size, stack, chunk;
  int64_t aux[3];
  uint64_t mmapped_offset;
  uint32_t thread;
};

struct Trace {
  std::string path;
  trace::Header header;
  std::vector<Event> events;  // sorted by seq
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> nodes;  // id -> (parent, return address)
  std::vector<trace::ModuleLoad> modules;
  std::vector<uint32_t> unloaded;
  std::map<uint64_t, size_t> node_record_index;  // node id -> index of its record in the file
  std::map<uint32_t, size_t> module_record_index;
  std::vector<trace::ProcessEnd> ends;
  bool has_trailer = false;
  bool has_scan = false;
  std::map<uint64_t, uint32_t> leak_kind;  // block address -> LeakKind
  trace::Trailer trailer;
  uint64_t last_barrier = 0;
  bool barriers_ok = true;  // every event arrived before the barrier that covers it

  // Innermost return address of an event's stack.
  uint64_t FirstFrame(const Event& e) const {
    auto it = nodes.find(e.stack);
    return it == nodes.end() ? 0 : it->second.second;
  }
  bool InMainExecutable(uint64_t address) const {
    for (const auto& m : modules) {
      if (!m.is_main_executable()) continue;
      for (const auto& s : m.segments())
        if (address >= s.start() && address < s.start() + s.size()) return true;
    }
    return false;
  }
  std::vector<Event> Ops(uint32_t op) const {
    std::vector<Event> out;
    for (const auto& e : events)
      if (e.op == op) out.push_back(e);
    return out;
  }
};

Trace ReadTrace(const std::string& path) {
  Trace t;
  t.path = path;
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  std::set<uint64_t> seqs_seen;
  size_t record_index = 0;
  uint64_t max_seq_seen = 0;
  while (pos < data.size()) {
    uint64_t length = 0;
    int shift = 0;
    while (pos < data.size()) {
      const uint8_t byte = static_cast<uint8_t>(data[pos++]);
      length |= static_cast<uint64_t>(byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) break;
    }
    if (pos + length > data.size()) break;  // a truncated prefix
    trace::Record r;
    EXPECT_TRUE(r.ParseFromArray(data.data() + pos, static_cast<int>(length))) << path;
    pos += length;
    if (r.has_header()) t.header = r.header();
    ++record_index;
    if (r.has_module_load()) {
      t.modules.push_back(r.module_load());
      t.module_record_index[r.module_load().module_id()] = record_index;
    }
    if (r.has_module_unload()) t.unloaded.push_back(r.module_unload().module_id());
    if (r.has_process_end()) t.ends.push_back(r.process_end());
    if (r.has_trailer()) {
      t.has_trailer = true;
      t.trailer = r.trailer();
    }
    if (r.has_leak_scan()) {
      t.has_scan = true;
      uint64_t address = 0;
      for (int i = 0; i < r.leak_scan().address_delta_size(); ++i) {
        address += static_cast<uint64_t>(r.leak_scan().address_delta(i));
        t.leak_kind[address] = r.leak_scan().kind(i);
      }
    }
    if (r.has_barrier()) {
      EXPECT_GE(r.barrier().seq(), t.last_barrier);
      t.last_barrier = r.barrier().seq();
    }
    if (r.has_stack_nodes()) {
      const auto& s = r.stack_nodes();
      uint64_t address = 0;
      for (int i = 0; i < s.parent_distance_size(); ++i) {
        const uint64_t id = s.first_id() + i;
        address += static_cast<uint64_t>(s.return_address_delta(i));
        t.nodes[id] = {s.parent_distance(i) ? id - s.parent_distance(i) : 0, address};
        t.node_record_index[id] = record_index;
      }
    }
    if (r.has_events()) {
      const auto& b = r.events();
      uint64_t seq = b.base_seq(), time = b.base_time_ns(), address = 0;
      int aux = 0, offsets = 0;
      for (int i = 0; i < b.op_size(); ++i) {
        seq += b.seq_delta(i);
        time += b.time_delta(i);
        address += static_cast<uint64_t>(b.address_delta(i));
        Event e{b.op(i), seq,       time, address, b.size(i), b.stack_id(i), b.chunk_header(i),
                {0, 0, 0}, 0,   b.thread_id()};
        for (int a = 0; a < op::AuxCount(e.op); ++a) e.aux[a] = b.aux(aux++);
        if (e.chunk & kChunkMmapped) e.mmapped_offset = b.mmapped_chunk_offset(offsets++);
        // An event below an earlier barrier would break the reader's promise.
        if (seq < t.last_barrier) t.barriers_ok = false;
        t.events.push_back(e);
      }
    }
  }
  std::sort(t.events.begin(), t.events.end(),
            [](const Event& a, const Event& b) { return a.seq < b.seq; });
  return t;
}

struct RunResult {
  int status = -1;
  std::string stderr_text;
  std::vector<std::string> traces;
};

class PreloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/heapgap-preload-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  // Runs the probe with the preload; `limit_bytes` sets RLIMIT_FSIZE.
  RunResult Run(const std::string& mode, std::string options = "", long limit_bytes = -1,
                const char* extra_argument = nullptr) {
    if (options.empty()) options = "output=" + dir_ + "/";
    const std::string err_path = dir_ + "/stderr.txt";
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 2);
      if (limit_bytes >= 0) {
        rlimit limit{static_cast<rlim_t>(limit_bytes), static_cast<rlim_t>(limit_bytes)};
        setrlimit(RLIMIT_FSIZE, &limit);
      }
      setenv("LD_PRELOAD", HEAPGAP_LIBRARY, 1);
      setenv("HEAPGAP_OPTIONS", options.c_str(), 1);
      execl(PRELOAD_PROBE, PRELOAD_PROBE, mode.c_str(), extra_argument, static_cast<char*>(nullptr));
      _exit(127);
    }
    RunResult result;
    waitpid(pid, &result.status, 0);
    std::ifstream err(err_path);
    std::stringstream ss;
    ss << err.rdbuf();
    result.stderr_text = ss.str();
    unlink(err_path.c_str());
    if (DIR* d = opendir(dir_.c_str())) {
      while (dirent* entry = readdir(d)) {
        std::string name = entry->d_name;
        if (name.find(".trace") != std::string::npos) result.traces.push_back(dir_ + "/" + name);
      }
      closedir(d);
    }
    std::sort(result.traces.begin(), result.traces.end());
    return result;
  }

  std::string dir_;
};

TEST_F(PreloadTest, RecordsEachCallWithStackAndChunk) {
  RunResult r = Run("basic");
  ASSERT_TRUE(WIFEXITED(r.status));
  ASSERT_EQ(WEXITSTATUS(r.status), 0);
  ASSERT_EQ(r.traces.size(), 1u);
  Trace t = ReadTrace(r.traces[0]);
  EXPECT_EQ(t.header.magic(), "heapgap-trace");
  EXPECT_TRUE(t.has_trailer);
  EXPECT_EQ(t.trailer.exit_status(), 0);
  EXPECT_TRUE(t.barriers_ok);

  std::vector<Event> hundreds;
  for (const Event& e : t.Ops(op::kMalloc))
    if (e.size == 100) hundreds.push_back(e);
  ASSERT_EQ(hundreds.size(), 3u);
  for (const Event& e : hundreds) {
    EXPECT_NE(e.stack, 0u);
    EXPECT_TRUE(t.InMainExecutable(t.FirstFrame(e))) << std::hex << t.FirstFrame(e);
    EXPECT_EQ(e.chunk & ~7ull, 112u);  // request2size(100)
  }
  // Same innermost frame (inside alloc_site), called from three lines of
  // basic(): three stacks sharing their first frame.
  EXPECT_EQ(t.FirstFrame(hundreds[0]), t.FirstFrame(hundreds[1]));
  EXPECT_NE(hundreds[0].stack, hundreds[1].stack);

  auto frees = t.Ops(op::kFree);
  ASSERT_EQ(std::count_if(frees.begin(), frees.end(),
                          [&](const Event& e) { return e.address == hundreds[1].address; }),
            1);
  auto callocs = t.Ops(op::kCalloc);
  ASSERT_EQ(callocs.size(), 1u);
  EXPECT_EQ(callocs[0].size, 200u);

  auto reallocs = t.Ops(op::kRealloc);
  auto realloc_frees = t.Ops(op::kReallocFree);
  ASSERT_EQ(reallocs.size(), 2u);
  ASSERT_EQ(realloc_frees.size(), 2u);
  // realloc(a, 5000): the old block goes first, then the new one names it.
  EXPECT_EQ(realloc_frees[0].address, hundreds[0].address);
  EXPECT_EQ(reallocs[0].size, 5000u);
  EXPECT_EQ(static_cast<uint64_t>(reallocs[0].aux[0]), hundreds[0].address);
  EXPECT_LT(realloc_frees[0].seq, reallocs[0].seq);
  // realloc(NULL, 64), then realloc(f, 0) which only frees.
  EXPECT_EQ(reallocs[1].size, 64u);
  EXPECT_EQ(reallocs[1].aux[0], 0);
  EXPECT_EQ(realloc_frees[1].address, reallocs[1].address);

  auto posix = t.Ops(op::kPosixMemalign);
  ASSERT_EQ(posix.size(), 1u);
  EXPECT_EQ(posix[0].size, 256u);
  EXPECT_EQ(posix[0].aux[0], 64);
  EXPECT_EQ(posix[0].address % 64, 0u);
  auto aligned = t.Ops(op::kAlignedAlloc);
  ASSERT_EQ(aligned.size(), 1u);
  EXPECT_EQ(aligned[0].aux[0], 4096);
}

// Replaying every event in sequence order must never allocate an address
// that is live or free one that is not: the order across threads is exact.
TEST_F(PreloadTest, OrderAcrossThreadsIsExact) {
  RunResult r = Run("threads");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  ASSERT_EQ(r.traces.size(), 1u);
  Trace t = ReadTrace(r.traces[0]);
  EXPECT_TRUE(t.barriers_ok);
  EXPECT_EQ(t.trailer.lost_events(), 0u);
  std::set<uint64_t> live, ever;
  size_t violations = 0, frees = 0, threads = 0;
  std::set<uint32_t> thread_ids;
  for (const Event& e : t.events) {
    thread_ids.insert(e.thread);
    if (e.op >= op::kBreakMove) continue;
    if (e.op < op::kFree) {
      if (!live.insert(e.address).second) ++violations;
      ever.insert(e.address);
    } else {
      ++frees;
      if (ever.count(e.address) && !live.erase(e.address)) ++violations;
    }
  }
  threads = thread_ids.size();
  EXPECT_EQ(violations, 0u);
  EXPECT_GE(frees, 400000u);
  EXPECT_GE(threads, 5u);  // main + 4 workers
  EXPECT_EQ(t.trailer.events(), t.events.size());
}

TEST_F(PreloadTest, ForkChildWritesItsOwnTrace) {
  RunResult r = Run("fork");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  ASSERT_EQ(r.traces.size(), 2u);
  Trace a = ReadTrace(r.traces[0]);
  Trace b = ReadTrace(r.traces[1]);
  Trace& parent = a.header.forked() ? b : a;
  Trace& child = a.header.forked() ? a : b;
  ASSERT_FALSE(parent.header.forked());
  ASSERT_TRUE(child.header.forked());
  EXPECT_EQ(child.header.parent_pid(), parent.header.pid());
  EXPECT_TRUE(parent.has_trailer);
  EXPECT_TRUE(child.has_trailer);
  size_t child_77 = 0, parent_77 = 0;
  for (const Event& e : child.Ops(op::kMalloc)) {
    if (e.size != 77) continue;
    ++child_77;
    EXPECT_TRUE(child.InMainExecutable(child.FirstFrame(e)));
  }
  for (const Event& e : parent.Ops(op::kMalloc)) parent_77 += e.size == 77;
  EXPECT_EQ(child_77, 5u);
  EXPECT_EQ(parent_77, 0u);
  EXPECT_EQ(child.Ops(op::kMalloc).size() >= 5, true);
}

TEST_F(PreloadTest, ExecEndsOneTraceAndStartsAnother) {
  RunResult r = Run("exec");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  ASSERT_EQ(r.traces.size(), 2u);
  Trace a = ReadTrace(r.traces[0]);
  Trace b = ReadTrace(r.traces[1]);
  Trace& before = a.ends.empty() ? b : a;
  Trace& after = a.ends.empty() ? a : b;
  ASSERT_EQ(before.ends.size(), 1u);
  EXPECT_EQ(before.ends[0].how(), trace::ProcessEnd::EXEC);
  EXPECT_EQ(before.ends[0].detail(), "/bin/true");
  EXPECT_FALSE(before.has_trailer);
  EXPECT_EQ(before.Ops(op::kMalloc).size(), 1u);
  EXPECT_EQ(after.header.pid(), before.header.pid());
  EXPECT_NE(after.header.executable().find("true"), std::string::npos);
  EXPECT_TRUE(after.has_trailer);
}

TEST_F(PreloadTest, VforkChildDoesNotEndTheParentsTrace) {
  RunResult r = Run("vfork");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  ASSERT_EQ(r.traces.size(), 2u);  // the parent and /bin/true
  Trace a = ReadTrace(r.traces[0]);
  Trace b = ReadTrace(r.traces[1]);
  Trace& parent = a.header.executable().find("preload_probe") != std::string::npos ? a : b;
  EXPECT_TRUE(parent.ends.empty());
  EXPECT_TRUE(parent.has_trailer);
  size_t after = 0;
  for (const Event& e : parent.Ops(op::kMalloc)) after += e.size == 99;
  EXPECT_EQ(after, 1u);
}

TEST_F(PreloadTest, ImmediateExitIsRecordedWithItsStatus) {
  RunResult r = Run("_exit");
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 7);
  ASSERT_EQ(r.traces.size(), 1u);
  Trace t = ReadTrace(r.traces[0]);
  EXPECT_FALSE(t.has_trailer);
  ASSERT_EQ(t.ends.size(), 1u);
  EXPECT_EQ(t.ends[0].how(), trace::ProcessEnd::EXIT_IMMEDIATE);
  EXPECT_EQ(t.ends[0].status(), 7);
  ASSERT_EQ(t.Ops(op::kMalloc).size(), 1u);
  EXPECT_EQ(t.Ops(op::kMalloc)[0].size, 66u);
}

TEST_F(PreloadTest, AbortIsRecordedAndStillKillsTheProcess) {
  RunResult r = Run("abort");
  ASSERT_TRUE(WIFSIGNALED(r.status));
  EXPECT_EQ(WTERMSIG(r.status), SIGABRT);
  ASSERT_EQ(r.traces.size(), 1u);
  Trace t = ReadTrace(r.traces[0]);
  ASSERT_EQ(t.ends.size(), 1u);
  EXPECT_EQ(t.ends[0].how(), trace::ProcessEnd::ABORT);
  ASSERT_EQ(t.Ops(op::kMalloc).size(), 1u);
}

TEST_F(PreloadTest, CAllocationContractIsUnchanged) {
  RunResult r = Run("errno");
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 0) << "probe check number " << WEXITSTATUS(r.status);
}

TEST_F(PreloadTest, UnwritableOutputLeavesTheProgramAlone) {
  RunResult r = Run("basic", "output=/proc/no-such-dir/x.trace");
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), 0);
  EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.rfind("heapgap: cannot create trace file", 0), 0u) << r.stderr_text;
}

TEST_F(PreloadTest, NeverFollowsOrOverwritesAnExistingPath) {
  const std::string victim = dir_ + "/victim";
  { std::ofstream(victim) << "keep me"; }
  const std::string planted = dir_ + "/planted.trace";
  ASSERT_EQ(symlink(victim.c_str(), planted.c_str()), 0);
  RunResult r = Run("basic", "output=" + planted);
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  std::ifstream in(victim);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "keep me");
  struct stat st;
  ASSERT_EQ(stat((planted + ".1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(ReadTrace(planted + ".1").has_trailer);
}

TEST_F(PreloadTest, FileSizeLimitStopsTracingNotTheProgram) {
  RunResult r = Run("threads", "", 64 * 1024);
  ASSERT_TRUE(WIFEXITED(r.status)) << "signal " << WTERMSIG(r.status);
  EXPECT_EQ(WEXITSTATUS(r.status), 0);
  EXPECT_NE(r.stderr_text.find("file size limit"), std::string::npos) << r.stderr_text;
  ASSERT_EQ(r.traces.size(), 1u);
  struct stat st;
  ASSERT_EQ(stat(r.traces[0].c_str(), &st), 0);
  EXPECT_LE(st.st_size, 64 * 1024);
  Trace t = ReadTrace(r.traces[0]);
  EXPECT_FALSE(t.has_trailer);
  EXPECT_GT(t.events.size(), 0u);
}

TEST_F(PreloadTest, ExitScanClassifiesLikeMemcheck) {
  RunResult r = Run("leaks");
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  ASSERT_EQ(r.traces.size(), 1u);
  Trace t = ReadTrace(r.traces[0]);
  ASSERT_TRUE(t.has_scan);
  // Replay to the blocks still allocated, then sum sizes per kind.
  std::map<uint64_t, uint64_t> live;
  for (const Event& e : t.events) {
    if (e.op >= op::kBreakMove) continue;
    if (e.op < op::kFree) live[e.address] = e.size;
    else live.erase(e.address);
  }
  std::map<uint32_t, std::pair<uint64_t, int>> by_kind;
  for (const auto& [address, size] : live) {
    ASSERT_TRUE(t.leak_kind.count(address)) << std::hex << address;
    auto& k = by_kind[t.leak_kind[address]];
    k.first += size;
    k.second += 1;
  }
  EXPECT_EQ(by_kind[trace::DEFINITELY_LOST], std::make_pair(uint64_t{164}, 3));
  EXPECT_EQ(by_kind[trace::INDIRECTLY_LOST], std::make_pair(uint64_t{64}, 2));
  EXPECT_EQ(by_kind[trace::POSSIBLY_LOST], std::make_pair(uint64_t{300}, 1));
  // The stdout buffer is gone: libc freed it at exit, as under valgrind.
  EXPECT_EQ(by_kind[trace::STILL_REACHABLE], std::make_pair(uint64_t{200}, 1));
}

TEST_F(PreloadTest, ModuleLoadedAndUnloadedBetweenFlushesIsRecorded) {
  RunResult r = Run("dlopen", "", -1, PRELOAD_PLUGIN);
  ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
  ASSERT_EQ(r.traces.size(), 1u);
  Trace t = ReadTrace(r.traces[0]);
  const trace::ModuleLoad* plugin = nullptr;
  for (const auto& m : t.modules)
    if (m.path() == PRELOAD_PLUGIN) plugin = &m;
  ASSERT_NE(plugin, nullptr) << "the plugin's ModuleLoad, with its absolute path";
  bool found = false;
  for (const Event& e : t.Ops(op::kMalloc)) {
    if (e.size != 4242) continue;
    found = true;
    const uint64_t frame = t.FirstFrame(e);
    bool inside = false;
    for (const auto& s : plugin->segments()) inside |= frame >= s.start() && frame < s.start() + s.size();
    EXPECT_TRUE(inside);
    // The module is in the file before the node that refers to it.
    EXPECT_LT(t.module_record_index[plugin->module_id()], t.node_record_index[e.stack]);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(std::count(t.unloaded.begin(), t.unloaded.end(), plugin->module_id()), 1);
}

TEST_F(PreloadTest, InvalidFreeIsInTheTraceBeforeGlibcAborts) {
  RunResult r = Run("bad_free");
  ASSERT_TRUE(WIFSIGNALED(r.status));
  EXPECT_EQ(WTERMSIG(r.status), SIGABRT);
  ASSERT_EQ(r.traces.size(), 1u);
  Trace t = ReadTrace(r.traces[0]);
  auto mallocs = t.Ops(op::kMalloc);
  auto frees = t.Ops(op::kFree);
  ASSERT_EQ(mallocs.size(), 1u);
  ASSERT_EQ(frees.size(), 1u);
  EXPECT_EQ(frees[0].address, mallocs[0].address + 16);
  ASSERT_NE(frees[0].stack, 0u) << "a release heapgap never handed out carries its stack";
  EXPECT_TRUE(t.InMainExecutable(t.FirstFrame(frees[0])));
}

}  // namespace
}  // namespace heapgap
