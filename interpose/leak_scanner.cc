#include "interpose/leak_scanner.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "interpose/private_heap.h"
#include "interpose/support.h"
#include "interpose/trace_encoding.h"

namespace heapgap {
namespace {

// ---- Memory map --------------------------------------------------------------

struct Mapping {
  uint64_t begin;
  uint64_t end;
  bool readable;
  bool writable;
  bool executable;
  bool file_backed;
  bool heap;       // [heap]
  bool special;    // [vvar], [vdso], [vsyscall], devices other than /dev/zero
  bool libc;       // libc's own writable data: holds main_arena
};

size_t ReadMappings(Mapping* out, size_t capacity) {
  static char text[4 << 20];
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, text + len, sizeof text - 1 - len);
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  close(fd);
  text[len] = '\0';
  size_t count = 0;
  for (char* line = text; *line && count < capacity;) {
    char* next = strchr(line, '\n');
    if (next) *next = '\0';
    Mapping m{};
    char* p = line;
    m.begin = strtoull(p, &p, 16);
    ++p;  // '-'
    m.end = strtoull(p, &p, 16);
    ++p;
    m.readable = p[0] == 'r';
    m.writable = p[1] == 'w';
    m.executable = p[2] == 'x';
    // Skip offset, device and inode to the path.
    int fields = 0;
    while (*p && fields < 4) {
      while (*p && *p != ' ') ++p;
      while (*p == ' ') ++p;
      ++fields;
    }
    const char* path = p;
    m.file_backed = path[0] == '/';
    m.heap = strcmp(path, "[heap]") == 0;
    m.special = strcmp(path, "[vvar]") == 0 || strcmp(path, "[vdso]") == 0 ||
                strcmp(path, "[vsyscall]") == 0 ||
                (strncmp(path, "/dev/", 5) == 0 && strcmp(path, "/dev/zero") != 0 &&
                 strncmp(path, "/dev/shm/", 9) != 0);
    const size_t path_len = strlen(path);
    m.libc = path_len >= 10 && strcmp(path + path_len - 10, "/libc.so.6") == 0;
    out[count++] = m;
    if (!next) break;
    line = next + 1;
  }
  return count;
}

// ---- Stopping the other threads ---------------------------------------------

struct StoppedThread {
  pid_t tid;
  std::atomic<int> stopped;  // 1 once its registers are saved
  uint64_t registers[NGREG];
  uint64_t sp;
  uint64_t tp;  // thread pointer: its TCB, with static TLS below it
};

constinit StoppedThread* g_threads = nullptr;
constinit size_t g_thread_count = 0;
constinit std::atomic<int> g_release{0};

uint64_t ThreadPointer() {
  uint64_t tp;
  asm volatile("mov %%fs:0, %0" : "=r"(tp));
  return tp;
}

void StopHandler(int, siginfo_t*, void* context) {
  const int saved_errno = errno;
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  for (size_t i = 0; i < g_thread_count; ++i) {
    StoppedThread& t = g_threads[i];
    if (t.tid != tid) continue;
    const auto* uc = static_cast<const ucontext_t*>(context);
    for (int r = 0; r < NGREG; ++r) t.registers[r] = static_cast<uint64_t>(uc->uc_mcontext.gregs[r]);
    t.sp = static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RSP]);
    t.tp = ThreadPointer();
    t.stopped.store(1, std::memory_order_release);
    while (g_release.load(std::memory_order_acquire) == 0)
      syscall(SYS_futex, &g_release, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
    break;
  }
  errno = saved_errno;
}

// A real-time signal the program leaves at its default disposition.
int PickStopSignal() {
  for (int sig = SIGRTMAX; sig > SIGRTMIN + 2; --sig) {
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) return sig;
  }
  return -1;
}

// heapgap's own flush thread, by the name it is given when created (it may
// not have run yet, so its tid may be unknown to the recorder).
bool IsHeapgapThread(pid_t tid) {
  char path[64];
  StringBuilder b(path, sizeof path);
  b.Add("/proc/self/task/").AddUint(static_cast<uint64_t>(tid)).Add("/comm");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char name[32] = {};
  ssize_t n = read(fd, name, sizeof name - 1);
  close(fd);
  return n >= 13 && memcmp(name, "heapgap-flush", 13) == 0;
}

// The program's threads (heapgap's own left out).
size_t ListThreads(pid_t* tids, size_t capacity) {
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t count = 0;
  alignas(8) char buf[8192];
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9' || count >= capacity) continue;
      const pid_t tid = static_cast<pid_t>(strtol(d->d_name, nullptr, 10));
      if (!IsHeapgapThread(tid)) tids[count++] = tid;
    }
  }
  close(fd);
  return count;
}

// ---- The blocks ----------------------------------------------------------------

enum State : uint8_t { kUnreached, kPossible, kReachable, kIndirect };

struct Scan {
  LiveBlock* blocks = nullptr;
  size_t n = 0;
  uint8_t* state = nullptr;
  uint8_t* pending = nullptr;
  uint32_t* stack = nullptr;
  size_t top = 0;
  uint64_t lowest = 0;
  uint64_t highest = 0;  // end of the highest block
  uint64_t root_bytes = 0;

  // The block ptr points into, or -1 (memcheck's find_chunk_for: a block of
  // size 0 covers its start address).
  long Find(uint64_t ptr) const {
    if (ptr < lowest || ptr >= highest) return -1;
    size_t lo = 0, hi = n;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (blocks[mid].address <= ptr) lo = mid + 1;
      else hi = mid;
    }
    if (lo == 0) return -1;
    const LiveBlock& b = blocks[lo - 1];
    const uint64_t end = b.address + (b.size ? b.size : 1);
    return ptr < end ? static_cast<long>(lo - 1) : -1;
  }

  void Push(size_t i) {
    if (pending[i]) return;
    pending[i] = 1;
    stack[top++] = static_cast<uint32_t>(i);
  }
};

bool ReadWord(uint64_t address, uint64_t& value) {
  return SafeRead(&value, address, 8) == 8;
}

// Within [begin, end) of a readable mapping? Used by the vtable test.
constinit const Mapping* g_maps = nullptr;
constinit size_t g_map_count = 0;

const Mapping* MappingOf(uint64_t address) {
  for (size_t i = 0; i < g_map_count; ++i)
    if (address >= g_maps[i].begin && address < g_maps[i].end) return &g_maps[i];
  return nullptr;
}

// memcheck's test: a table holding at least two pointers into executable
// mappings (and otherwise only NULLs) within its first 20 words.
bool LooksLikeVtable(uint64_t ptr) {
  const Mapping* m = MappingOf(ptr);
  if (!m || !m->readable || !m->file_backed) return false;
  int found = 0;
  for (int i = 0; i < 20 && ptr + 8 * i + 8 <= m->end; ++i) {
    uint64_t fn;
    if (!ReadWord(ptr + 8 * i, fn)) return false;
    if (fn == 0) continue;
    const Mapping* code = MappingOf(fn);
    if (!code || !code->executable || !code->file_backed) return false;
    if (++found == 2) return true;
  }
  return false;
}

// memcheck's leak-check heuristics (all on by default in valgrind 3.19):
// interior pointers that are in fact how some code addresses its blocks.
bool HeuristicallyReachable(const LiveBlock& b, uint64_t ptr) {
  const uint64_t data = b.address;
  const auto word = [&](uint64_t offset, uint64_t& v) {
    if (offset + 8 > b.size) return false;
    memcpy(&v, reinterpret_cast<const void*>(data + offset), 8);
    return true;
  };
  uint64_t v0, v1;
  // std::string (old COW layout): length, capacity, refcount, chars.
  if (ptr == data + 24 && word(8, v1) && 24 + v1 + 1 == b.size && word(0, v0) && v0 <= v1)
    return true;
  // length64: an 8-byte length of the rest of the block.
  if (ptr == data + 8 && word(0, v0) && v0 > 0 && b.size - 8 == v0) return true;
  // new[] of objects with destructors: an element count first.
  if (ptr == data + 8 && word(0, v0) && v0 > 0 && (b.size - 8) % v0 == 0) return true;
  // Multiple inheritance: both the block and the interior point to vtables.
  if ((ptr & 7) == 0 && ptr + 8 <= data + b.size && word(0, v0)) {
    uint64_t inner;
    memcpy(&inner, reinterpret_cast<const void*>(ptr), 8);
    if ((inner & 7) == 0 && inner >= 4096 && (v0 & 7) == 0 && v0 >= 4096 && LooksLikeVtable(inner) &&
        LooksLikeVtable(v0))
      return true;
  }
  return false;
}

// memcheck's lc_push_without_clique_if_a_chunk_ptr.
void Reach(Scan& s, uint64_t ptr, bool prior_definite) {
  const long i = s.Find(ptr);
  if (i < 0) return;
  uint8_t& st = s.state[i];
  if (st == kReachable) return;
  const LiveBlock& b = s.blocks[i];
  const bool as_start = ptr == b.address || HeuristicallyReachable(b, ptr);
  if (as_start && prior_definite) {
    st = kReachable;
    s.Push(static_cast<size_t>(i));
  } else if (st == kUnreached) {
    st = kPossible;
    s.Push(static_cast<size_t>(i));
  }
}

// Words in [begin, end) of memory that may vanish under us: copied first.
// `libc_filter`: glibc's main_arena (in libc's data) points at free chunk
// headers, which lie inside the last word of the block before them; such a
// word is not the program's pointer.
void ScanRoot(Scan& s, uint64_t begin, uint64_t end, bool libc_filter) {
  constexpr size_t kWindow = 1 << 20;
  static uint64_t window[kWindow / 8];
  begin = (begin + 7) & ~7ull;
  end &= ~7ull;
  for (uint64_t at = begin; at < end;) {
    const size_t want = end - at < kWindow ? end - at : kWindow;
    const size_t got = SafeRead(window, at, want);
    if (got < 8) {
      at = (at + 4096) & ~4095ull;  // an unreadable page: skip it
      continue;
    }
    s.root_bytes += got & ~7ull;
    for (size_t k = 0; k < got / 8; ++k) {
      const uint64_t v = window[k];
      if (v < s.lowest || v >= s.highest) continue;
      if (libc_filter) {
        const long i = s.Find(v);
        if (i >= 0) {
          const LiveBlock& b = s.blocks[i];
          const uint64_t header = *reinterpret_cast<const uint64_t*>(b.address - 8);
          if (!(header & kChunkMmapped) && v == b.address - 16 + (header & ~7ull)) continue;
        }
      }
      Reach(s, v, /*prior_definite=*/true);
    }
    at += got & ~7ull;
  }
}

void ScanBlock(Scan& s, size_t i, bool prior_definite, long clique) {
  const LiveBlock& b = s.blocks[i];
  const auto* words = reinterpret_cast<const uint64_t*>(b.address);
  for (uint64_t k = 0; k < b.size / 8; ++k) {
    const uint64_t v = words[k];
    if (v < s.lowest || v >= s.highest) continue;
    if (clique < 0) {
      Reach(s, v, prior_definite);
      continue;
    }
    // memcheck's clique pass: any pointer (start or interior) into an
    // unreached block makes it part of this leader's clique.
    const long j = s.Find(v);
    if (j >= 0 && j != clique && s.state[j] == kUnreached) {
      s.state[j] = kIndirect;
      s.Push(static_cast<size_t>(j));
    }
  }
}

void ProcessStack(Scan& s, long clique) {
  while (s.top > 0) {
    const size_t i = s.stack[--s.top];
    s.pending[i] = 0;
    ScanBlock(s, i, s.state[i] != kPossible, clique);
  }
}

uint32_t ToLeakKind(uint8_t state) {
  switch (state) {
    case kReachable: return 1;  // STILL_REACHABLE
    case kUnreached: return 2;  // DEFINITELY_LOST
    case kIndirect: return 3;   // INDIRECTLY_LOST
    default: return 4;          // POSSIBLY_LOST
  }
}

template <typename T>
T* MapArray(size_t n) {
  return static_cast<T*>(MapPages(n * sizeof(T) + 16));
}

struct StaticTls {
  size_t below_tp = 0;  // static TLS size
  size_t above_tp = 0;  // sizeof(struct pthread)
  size_t tid_offset = 0;  // of struct pthread's tid; 0 when unknown
};

StaticTls FindStaticTls() {
  StaticTls tls;
  using InfoFn = void (*)(size_t*, size_t*);
  auto info = reinterpret_cast<InfoFn>(dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info"));
  size_t size = 0, align = 0;
  if (info) info(&size, &align);
  tls.below_tp = size;
  auto* pthread_size = static_cast<const unsigned int*>(dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread"));
  tls.above_tp = pthread_size ? *pthread_size : 2368;
  // nptl_db's descriptor of the tid field: {bits, count, byte offset}.
  auto* tid_field = static_cast<const unsigned int*>(dlsym(RTLD_DEFAULT, "_thread_db_pthread_tid"));
  tls.tid_offset = tid_field ? tid_field[2] : 0;
  return tls;
}

// glibc keeps the stack of an exited thread mapped for reuse, with its TCB
// (struct pthread, its tid no longer a thread's) at the top. What is left in it
// belongs to no thread: memcheck does not scan dead threads' stacks either.
bool IsExitedThreadStack(const Mapping& m, const StaticTls& tls) {
  if (tls.tid_offset == 0 || m.file_backed || m.end - m.begin < tls.above_tp + 8192) return false;
  constexpr size_t kSearch = 8192;
  static uint64_t top[(kSearch + 4096) / 8];
  const uint64_t from = m.end - tls.above_tp - kSearch;
  const size_t got = SafeRead(top, from, m.end - from);
  if (got != m.end - from) return false;
  for (size_t off = 0; off + tls.above_tp <= got; off += 16) {
    const uint64_t a = from + off;
    const uint64_t* w = top + off / 8;
    if (w[0] != a || w[2] != a) continue;  // tcbhead_t: tcb and self point at themselves
    int32_t tid;
    memcpy(&tid, reinterpret_cast<const char*>(top) + off + tls.tid_offset, sizeof tid);
    return tid <= 0;  // 0: cleared by the kernel at exit; -1: joined, its stack cached
  }
  return false;
}

}  // namespace

size_t CountThreads(pid_t skip_tid) {
  pid_t tids[64];
  const size_t n = ListThreads(tids, 64);
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) count += tids[i] != skip_tid;
  return count;
}

void RunLeakScan(const LeakScanSettings& settings, LiveTable& table, TraceWriter& writer) {
  constexpr size_t kMaxMappings = 65536;
  constexpr size_t kMaxThreads = 4096;
  const StaticTls tls = FindStaticTls();  // dlsym: before any thread stops
  const uint64_t own_tp = ThreadPointer();

  table.LockAll();
  const size_t capacity = table.SizeLocked();
  Scan s;
  s.blocks = MapArray<LiveBlock>(capacity + 1);
  s.state = MapArray<uint8_t>(capacity + 1);
  s.pending = MapArray<uint8_t>(capacity + 1);
  s.stack = MapArray<uint32_t>(capacity + 1);
  auto* maps = MapArray<Mapping>(kMaxMappings);
  auto* tids = MapArray<pid_t>(kMaxThreads);
  g_threads = MapArray<StoppedThread>(kMaxThreads);
  if (!s.blocks || !s.state || !s.pending || !s.stack || !maps || !tids || !g_threads) {
    table.UnlockAll();
    return;
  }
  s.n = table.Snapshot(s.blocks, capacity);
  std::sort(s.blocks, s.blocks + s.n,
            [](const LiveBlock& a, const LiveBlock& b) { return a.address < b.address; });
  s.lowest = s.n ? s.blocks[0].address : 0;
  for (size_t i = 0; i < s.n; ++i) {
    const uint64_t end = s.blocks[i].address + (s.blocks[i].size ? s.blocks[i].size : 1);
    if (end > s.highest) s.highest = end;
  }

  // Stop every other thread of the program in a signal handler that saves
  // its registers. The table's locks are held, so none of them holds one.
  const pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  const pid_t pid = getpid();
  const int signal_number = PickStopSignal();
  size_t thread_count = 0;
  uint32_t not_stopped = 0;
  if (signal_number > 0) {
    const size_t listed = ListThreads(tids, kMaxThreads);
    for (size_t i = 0; i < listed; ++i)
      if (tids[i] != self && tids[i] != settings.skip_tid) g_threads[thread_count++].tid = tids[i];
    g_thread_count = thread_count;
    g_release.store(0, std::memory_order_release);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = StopHandler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&action.sa_mask);
    sigaction(signal_number, &action, nullptr);
    for (size_t i = 0; i < thread_count; ++i)
      if (syscall(SYS_tgkill, pid, g_threads[i].tid, signal_number) != 0) g_threads[i].tid = -1;
    // Wait up to a second for all of them; a thread that blocks the signal
    // is scanned without its registers (its stack is an anonymous mapping).
    for (int waited = 0; waited < 1000; ++waited) {
      size_t stopped = 0;
      for (size_t i = 0; i < thread_count; ++i)
        stopped += g_threads[i].tid < 0 || g_threads[i].stopped.load(std::memory_order_acquire);
      if (stopped == thread_count) break;
      timespec ms{0, 1000000};
      nanosleep(&ms, nullptr);
    }
    for (size_t i = 0; i < thread_count; ++i)
      not_stopped += g_threads[i].tid >= 0 && !g_threads[i].stopped.load(std::memory_order_acquire);
  }

  const size_t map_count = ReadMappings(maps, kMaxMappings);
  g_maps = maps;
  g_map_count = map_count;
  auto mapping_of = [&](uint64_t address) -> const Mapping* { return MappingOf(address); };
  auto holds_block = [&](const Mapping& m) {
    if (s.n == 0) return false;
    size_t lo = 0, hi = s.n;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (s.blocks[mid].address < m.begin) lo = mid + 1;
      else hi = mid;
    }
    return lo < s.n && s.blocks[lo].address < m.end;
  };
  const Mapping* own_stack = mapping_of(settings.stack_start);
  const Mapping* skip_stack = settings.skip_stack_address ? mapping_of(settings.skip_stack_address) : nullptr;

  // Registers, stacks from the stack pointer up, and static TLS + TCB.
  for (size_t i = 0; i < thread_count; ++i) {
    StoppedThread& t = g_threads[i];
    if (t.tid < 0 || !t.stopped.load(std::memory_order_acquire)) continue;
    for (int r = 0; r < NGREG; ++r) {
      const uint64_t v = t.registers[r];
      if (v >= s.lowest && v < s.highest) Reach(s, v, true);
    }
    if (const Mapping* stack = mapping_of(t.sp)) ScanRoot(s, t.sp, stack->end, false);
    if (t.tp) ScanRoot(s, t.tp - tls.below_tp, t.tp + tls.above_tp, false);
  }
  if (own_stack) ScanRoot(s, settings.stack_start, own_stack->end, false);
  ScanRoot(s, own_tp - tls.below_tp, own_tp + tls.above_tp, false);

  // Every other readable, writable mapping that is not heap memory.
  for (size_t i = 0; i < map_count; ++i) {
    const Mapping& m = maps[i];
    if (!m.readable || !m.writable || m.heap || m.special) continue;
    if (&m == own_stack || &m == skip_stack) continue;
    if (m.begin < settings.own_module_end && settings.own_module_begin < m.end) continue;
    if (InPrivateHeap(reinterpret_cast<void*>(m.begin)) || OverlapsOwnMapping(m.begin, m.end)) continue;
    if (holds_block(m)) continue;  // an arena heap or an mmapped chunk
    bool is_thread_stack = false;
    for (size_t t = 0; t < thread_count && !is_thread_stack; ++t)
      is_thread_stack = g_threads[t].stopped.load(std::memory_order_relaxed) &&
                        g_threads[t].sp >= m.begin && g_threads[t].sp < m.end;
    if (is_thread_stack) continue;  // scanned from its stack pointer above
    if (IsExitedThreadStack(m, tls)) continue;
    if (!settings.scan_mappings && !m.file_backed) {
      // Without the option: only the data of loaded modules (file-backed,
      // or the anonymous .bss right after a file-backed mapping).
      const bool bss = i > 0 && maps[i - 1].end == m.begin && maps[i - 1].file_backed;
      if (!bss) continue;
    }
    ScanRoot(s, m.begin, m.end, m.libc);
  }
  ProcessStack(s, -1);

  // Blocks nothing reached lead cliques of indirectly lost blocks.
  for (size_t i = 0; i < s.n; ++i) {
    if (s.state[i] != kUnreached) continue;
    s.Push(i);
    ProcessStack(s, static_cast<long>(i));
  }

  g_release.store(1, std::memory_order_release);
  syscall(SYS_futex, &g_release, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
  // The handler stays installed: a thread that receives the signal late
  // returns at once instead of dying of an unhandled real-time signal.
  table.UnlockAll();

  // The record: addresses ascending, one kind each.
  const size_t bytes = s.n * 12 + 256;
  auto* column = MapArray<uint8_t>(s.n * 10 + 16);
  auto* kinds = MapArray<uint8_t>(s.n * 2 + 16);
  auto* message = MapArray<uint8_t>(bytes);
  auto* record = MapArray<uint8_t>(bytes + 32);
  if (column && kinds && message && record) {
    wire::Writer addresses(column, s.n * 10 + 16);
    wire::Writer kind_column(kinds, s.n * 2 + 16);
    uint64_t previous = 0;
    for (size_t i = 0; i < s.n; ++i) {
      addresses.VarintUnchecked(wire::ZigZag(static_cast<int64_t>(s.blocks[i].address - previous)));
      kind_column.VarintUnchecked(ToLeakKind(s.state[i]));
      previous = s.blocks[i].address;
    }
    wire::Writer m(message, bytes);
    m.UintField(1, settings.time_ns);
    m.UintField(2, settings.seq);
    m.MessageField(3, addresses);
    m.MessageField(4, kind_column);
    m.UintField(5, thread_count - not_stopped + 1);
    m.UintField(6, not_stopped);
    m.UintField(7, s.root_bytes);
    m.BoolField(8, settings.scan_mappings);
    if (signal_number < 0) m.StringField(9, "no free real-time signal to stop other threads: their registers were not scanned");
    if (not_stopped) m.StringField(9, "some threads did not stop: their stacks were scanned without registers");
    wire::Writer out(record, bytes + 32);
    if (AppendRecord(kRecordLeakScan, m, out)) writer.WriteDirect(out.data(), out.size());
  }
}

}  // namespace heapgap
