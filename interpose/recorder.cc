#include "interpose/recorder.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include "interpose/heap_observer.h"
#include "interpose/leak_scanner.h"
#include "interpose/live_table.h"
#include "interpose/private_heap.h"
#include "interpose/module_tracker.h"
#include "interpose/options.h"
#include "interpose/stack_interner.h"
#include "interpose/support.h"
#include "interpose/trace_writer.h"

extern char** environ;
extern "C" void* __libc_malloc(size_t size);

namespace heapgap {

__thread ThreadState tls_state __attribute__((tls_model("initial-exec")));
constinit std::atomic<bool> g_tracing{false};

namespace {

constexpr uint64_t kNoPending = UINT64_MAX;
constexpr uint32_t kEventsPerBuffer = 1024;
// Room kept for events of signal handlers that run while the owner flushes.
constexpr uint32_t kFlushAt = kEventsPerBuffer - 16;
constexpr size_t kStackCacheEntries = 1024;
constexpr uint64_t kFlushIntervalNs = 100'000'000;
constexpr uint64_t kSampleIntervalNs = 10'000'000;
constexpr size_t kMaxWalkedChunks = 8u << 20;

struct StackCacheEntry {
  uint64_t hash;
  uint64_t generation;
  uint64_t id;
};

}  // namespace

// One thread's buffers. Mapped memory; owned by the registry, reused once the
// thread is gone.
struct ThreadSlot {
  SpinLock lock;  // owner appending vs. flusher swapping buffers
  // The lowest sequence number this thread may still append, or kNoPending.
  std::atomic<uint64_t> pending_seq{kNoPending};
  std::atomic<uint64_t> lost_events{0};
  uint32_t thread_id = 0;
  pid_t tid = 0;
  bool live = false;
  uint32_t idle_flushes = 0;  // flusher only
  uint32_t active = 0;        // buffer the owner appends to (under lock)
  uint32_t count[2] = {0, 0};
  RawEvent* buffers[2] = {nullptr, nullptr};
  uint32_t flush_index = 0;  // flusher only: buffer taken in this flush
  uint32_t flush_count = 0;
  ThreadSlot* next = nullptr;
  ArenaHeapCache arena_heap{0, 0, 0};  // owner only
  StackCacheEntry stack_cache[kStackCacheEntries];
};

namespace {

enum class InitState { kNotStarted, kRunning, kReady, kOff };

constinit Options g_options;
constinit ProcessInfo g_process;
constinit TraceWriter g_writer;
constinit ModuleTracker g_modules;
constinit StackInterner g_stacks;
constinit HeapObserver g_heap;
constinit LiveTable g_live;
constinit pid_t g_flush_thread_tid = 0;
constinit uintptr_t g_flush_thread_stack = 0;
constinit pthread_key_t g_thread_key;
constinit bool g_thread_key_ready = false;

constinit std::atomic<InitState> g_init{InitState::kNotStarted};
constinit std::atomic<uint64_t> g_seq{1};
constinit std::atomic<uint32_t> g_next_thread_id{1};
constinit std::atomic<uint64_t> g_events{0};
constinit std::atomic<uint64_t> g_lost_events{0};
constinit std::atomic<uint64_t> g_last_flush_ns{0};
constinit std::atomic<uint64_t> g_flushed_through_seq{0};
constinit std::atomic<uint64_t> g_sampled_through_seq{0};
constinit bool g_constructor_ran = false;
constinit bool g_finished = false;      // under g_flush_lock
constinit bool g_need_open = false;     // fork child: the trace is created on first use (under g_flush_lock)

constinit SpinLock g_flush_lock;
constinit SpinLock g_registry_lock;
constinit ThreadSlot* g_slots = nullptr;  // under g_registry_lock

constinit uint8_t* g_scratch = nullptr;   // under g_flush_lock
constexpr size_t kScratchBytes =
    EventBatchScratchBytes(kEventsPerBuffer) > StackNodesScratchBytes(StackInterner::kNodesPerRecord)
        ? EventBatchScratchBytes(kEventsPerBuffer)
        : StackNodesScratchBytes(StackInterner::kNodesPerRecord);

void Complain(const char* message) { ReportProblem(g_options, message); }

class TracerScope {
 public:
  TracerScope() { ++tls_state.in_tracer; }
  ~TracerScope() { --tls_state.in_tracer; }
};

pid_t CurrentTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

void AppendSimple(ThreadState& t, ThreadSlot* slot, uint32_t op);

ThreadSlot* NewSlot() {
  const size_t bytes = sizeof(ThreadSlot) + 2 * kEventsPerBuffer * sizeof(RawEvent);
  void* memory = MapPages(bytes);
  if (!memory) return nullptr;
  auto* slot = new (memory) ThreadSlot();
  auto* events = reinterpret_cast<RawEvent*>(static_cast<char*>(memory) + sizeof(ThreadSlot));
  slot->buffers[0] = events;
  slot->buffers[1] = events + kEventsPerBuffer;
  return slot;
}

ThreadSlot* CurrentSlot(ThreadState& t) {
  if (__builtin_expect(t.slot != nullptr, 1)) return t.slot;
  ++t.in_record;
  g_registry_lock.Lock();
  ThreadSlot* slot = nullptr;
  for (ThreadSlot* s = g_slots; s; s = s->next)
    if (!s->live) {
      slot = s;
      break;
    }
  if (!slot) {
    slot = NewSlot();
    if (slot) {
      slot->next = g_slots;
      g_slots = slot;
    }
  }
  if (slot) {
    slot->live = true;
    slot->tid = CurrentTid();
    slot->thread_id = g_next_thread_id.fetch_add(1, std::memory_order_relaxed);
    slot->idle_flushes = 0;
    slot->lost_events.store(0, std::memory_order_relaxed);
    for (auto& e : slot->stack_cache) e = StackCacheEntry{0, 0, 0};
  }
  g_registry_lock.Unlock();
  --t.in_record;
  t.slot = slot;
  if (slot) {
    // Tells us when the thread exits (its tcache then goes back to the arena).
    if (g_thread_key_ready) pthread_setspecific(g_thread_key, slot);
    AppendSimple(t, slot, op::kThreadStart);
  }
  return slot;
}

uint64_t HashFrames(const uintptr_t* frames, int n) {
  uint64_t h = static_cast<uint64_t>(n) * 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < n; ++i) {
    h ^= frames[i];
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return h;
}

__attribute__((noinline)) uint64_t CaptureStack(ThreadSlot* slot) {
  void* frames[Options::kMaxStackDepth + 8];
  int n = unw_backtrace(frames, g_options.stack_depth + 8);
  int first = 0;
  while (first < n && g_modules.IsOwnAddress(reinterpret_cast<uintptr_t>(frames[first]))) ++first;
  int depth = n - first;
  if (depth > g_options.stack_depth) depth = g_options.stack_depth;
  if (depth <= 0) return 0;
  const auto* stack = reinterpret_cast<const uintptr_t*>(frames + first);
  // A whole-stack hash in front of the shared trie: repeated stacks cost no
  // lock. Two different stacks with one 64-bit hash are not told apart.
  const uint64_t hash = HashFrames(stack, depth);
  const uint64_t generation = g_stacks.generation();
  StackCacheEntry& entry = slot->stack_cache[hash & (kStackCacheEntries - 1)];
  if (entry.hash == hash && entry.generation == generation && entry.id != 0) return entry.id;
  // A new stack: make sure every frame's module is recorded before its nodes
  // are (a module dlopen'ed since the last flush may be gone by the next).
  for (int i = 0; i < depth; ++i) {
    if (g_modules.Covers(stack[i])) continue;
    if (g_modules.CheckForChanges()) g_stacks.Forget();
    break;
  }
  const uint64_t id = g_stacks.Intern(stack, depth);
  if (id != 0) entry = StackCacheEntry{hash, generation, id};
  return id;
}

// False when another allocator (tcmalloc preloaded before us) provides
// __libc_malloc: its blocks have no glibc chunk headers to read.
constinit bool g_glibc_chunks = true;

uint64_t ChunkHeader(const void* p) {
  return g_glibc_chunks ? reinterpret_cast<const uint64_t*>(p)[-1] : 0;
}
uint64_t ChunkPrevSize(const void* p) { return reinterpret_cast<const uint64_t*>(p)[-2]; }

RawEvent MakeEvent(uint32_t op, uint64_t address, uint64_t size, uint64_t stack) {
  RawEvent e;
  memset(&e, 0, sizeof e);
  e.op = op;
  e.address = address;
  e.size = size;
  e.stack_id = stack;
  return e;
}

// Reserves the next sequence number. The slot announces a lower bound first,
// so a concurrent flush never writes a barrier past an event that is not yet
// in a buffer (see FlushAll). Nested calls (signal handlers) keep the outer
// bound, which is lower.
inline uint64_t ReserveSeq(ThreadSlot* slot, uint64_t& saved_pending) {
  saved_pending = slot->pending_seq.load(std::memory_order_relaxed);
  if (saved_pending == kNoPending)
    slot->pending_seq.store(g_seq.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
  return g_seq.fetch_add(1, std::memory_order_seq_cst);
}

inline void ReleaseSeq(ThreadSlot* slot, uint64_t saved_pending) {
  slot->pending_seq.store(saved_pending, std::memory_order_release);
}

void FlushAll();

// Appends under the slot lock; flushes when the buffer is nearly full.
void Append(ThreadState& t, ThreadSlot* slot, const RawEvent& event) {
  bool full;
  ++t.in_record;
  slot->lock.Lock();
  uint32_t& n = slot->count[slot->active];
  if (n < kEventsPerBuffer) {
    slot->buffers[slot->active][n++] = event;
  } else {
    slot->lost_events.fetch_add(1, std::memory_order_relaxed);
  }
  full = n >= kFlushAt;
  slot->lock.Unlock();
  --t.in_record;
  g_events.fetch_add(1, std::memory_order_relaxed);
  if (full) {
    FlushAll();
    return;
  }
  // Time-based flush for processes without the flush thread; the thread that
  // moves the clock does it.
  uint64_t last = g_last_flush_ns.load(std::memory_order_relaxed);
  if (event.time_ns > last + kFlushIntervalNs &&
      g_last_flush_ns.compare_exchange_strong(last, event.time_ns, std::memory_order_relaxed))
    FlushAll();
}

// Reserves a sequence number now and appends; returns the number.
uint64_t AppendNow(ThreadState& t, ThreadSlot* slot, RawEvent& event) {
  uint64_t saved_pending;
  event.seq = ReserveSeq(slot, saved_pending);
  event.time_ns = MonotonicNs();
  Append(t, slot, event);
  ReleaseSeq(slot, saved_pending);
  return event.seq;
}

void AppendSimple(ThreadState& t, ThreadSlot* slot, uint32_t op) {
  RawEvent event = MakeEvent(op, 0, 0, 0);
  AppendNow(t, slot, event);
}

void AppendBreakMove(ThreadState& t, ThreadSlot* slot, uint64_t old_break, uint64_t new_break,
                     uint64_t cause_seq, uint64_t stack) {
  RawEvent event = MakeEvent(op::kBreakMove, new_break, 0, stack);
  event.aux[0] = static_cast<int64_t>(old_break);
  event.aux[1] = static_cast<int64_t>(cause_seq);
  AppendNow(t, slot, event);
}

// What a call may have changed besides its block: the break.
void AfterCall(ThreadState& t, ThreadSlot* slot, uint64_t seq, uint64_t stack) {
  uint64_t old_break, new_break;
  if (g_heap.ClaimBreakMove(old_break, new_break))
    AppendBreakMove(t, slot, old_break, new_break, seq, stack);
}

// ---- Flushing ------------------------------------------------------------

// True if anything was written since the last flush.
bool FlushPendingWork() {
  return g_seq.load(std::memory_order_relaxed) != g_flushed_through_seq.load(std::memory_order_relaxed);
}

void AppendMallocSettingsRecord() {
  // glibc reads these once at start-up; the analyzer derives thresholds,
  // arena limits and tcache sizes from them.
  const char* names[16];
  size_t count = 0;
  for (char** env = environ; env && *env && count < 16; ++env)
    if (strncmp(*env, "MALLOC_", 7) == 0) names[count++] = *env;
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (g_writer.MakeRoom(17 * 1024))
    AppendMallocSettings(getenv("GLIBC_TUNABLES"), names, count,
                         cpus > 0 ? static_cast<uint32_t>(cpus) : 0, g_writer.buffer());
}

bool OpenTrace() {
  if (!g_writer.Open(g_options, g_process)) return false;
  AppendMallocSettingsRecord();
  return g_writer.Drain();
}

bool OpenTraceIfNeeded() {
  if (!g_need_open) return g_writer.active();
  g_need_open = false;
  if (!OpenTrace()) {
    g_tracing.store(false, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void DiscardBuffers() {
  for (ThreadSlot* s = g_slots; s; s = s->next) {
    s->lock.Lock();
    s->count[0] = s->count[1] = 0;
    s->lock.Unlock();
  }
}

// Reclaims slots of threads that are gone, once their events are written.
void RecycleSlots(pid_t pid) {
  for (ThreadSlot* s = g_slots; s; s = s->next) {
    if (!s->live) continue;
    if (s->flush_count != 0) {
      s->idle_flushes = 0;
      continue;
    }
    if (++s->idle_flushes < 2) continue;
    if (syscall(SYS_tgkill, pid, s->tid, 0) == 0 || errno != ESRCH) continue;
    s->lock.Lock();
    const bool empty = s->count[0] == 0 && s->count[1] == 0 &&
                       s->pending_seq.load(std::memory_order_acquire) == kNoPending;
    if (empty) s->live = false;
    s->lock.Unlock();
  }
}

// Writes every thread's buffered events, preceded by the modules and stack
// nodes they may refer to, and followed by a barrier.
void FlushAll() {
  ThreadState& t = tls_state;
  // A child made by clone() without the atfork handlers, or by vfork: the
  // trace file and (for vfork) the memory are the parent's. Write nothing.
  if (getpid() != g_process.pid) return;
  TracerScope tracer;
  ++t.in_record;
  const int saved_errno = errno;
  // The loader lock is taken here, before any heapgap lock (see recorder.h).
  const bool unloaded = g_modules.CheckForChanges();
  if (unloaded) g_stacks.Forget();

  g_flush_lock.Lock();
  g_last_flush_ns.store(MonotonicNs(), std::memory_order_relaxed);
  if (g_finished) {
    g_flush_lock.Unlock();
    --t.in_record;
    errno = saved_errno;
    return;
  }
  g_registry_lock.Lock();
  // Every event with a sequence number below the barrier is in a buffer now
  // or will be before its thread releases pending_seq; buffers are swapped
  // after this, so all of them get written below.
  const uint64_t counter = g_seq.load(std::memory_order_seq_cst);
  uint64_t barrier = counter;
  for (ThreadSlot* s = g_slots; s; s = s->next) {
    const uint64_t pending = s->pending_seq.load(std::memory_order_seq_cst);
    if (pending < barrier) barrier = pending;
  }
  bool any_events = false;
  for (ThreadSlot* s = g_slots; s; s = s->next) {
    s->lock.Lock();
    s->flush_index = s->active;
    s->flush_count = s->count[s->active];
    s->active ^= 1;
    s->count[s->active] = 0;
    s->lock.Unlock();
    any_events |= s->flush_count != 0;
  }

  bool ok = (any_events || !g_need_open) && OpenTraceIfNeeded();
  if (ok) ok = g_modules.DrainRecords(g_writer);
  if (ok) ok = g_stacks.DrainNodes(g_writer, g_scratch, kScratchBytes);
  for (ThreadSlot* s = g_slots; s; s = s->next) {
    if (!ok || s->flush_count == 0) continue;
    BatchInfo info;
    info.thread_id = s->thread_id;
    info.tid = s->tid;
    info.lost_events = s->lost_events.exchange(0, std::memory_order_relaxed);
    g_lost_events.fetch_add(info.lost_events, std::memory_order_relaxed);
    ok = g_writer.MakeRoom(EventBatchScratchBytes(s->flush_count) + 128) &&
         AppendEventBatch(info, s->buffers[s->flush_index], s->flush_count, g_scratch, kScratchBytes,
                          g_writer.buffer());
  }
  if (ok && g_writer.MakeRoom(32)) ok = AppendBarrier(barrier, g_writer.buffer());
  if (ok) ok = g_writer.Drain();
  if (!ok && !g_need_open) {
    // The file is gone (reported once by the writer): stop recording.
    g_tracing.store(false, std::memory_order_relaxed);
    DiscardBuffers();
  }
  g_flushed_through_seq.store(counter, std::memory_order_relaxed);
  RecycleSlots(g_process.pid);
  g_registry_lock.Unlock();
  g_flush_lock.Unlock();
  --t.in_record;
  errno = saved_errno;
}

// Writes what is buffered plus a final record, and stops recording.
template <typename AppendFinal>
void FinishTrace(AppendFinal append_final, bool stop) {
  if (!g_tracing.load(std::memory_order_relaxed)) return;
  // A vfork child shares the parent's memory and file: its exec or _exit
  // ends nothing of the parent's trace.
  if (getpid() != g_process.pid) return;
  // _exit or abort from a signal handler that interrupted heapgap itself:
  // its locks may be held by this very thread, so write nothing more.
  if (tls_state.in_record) return;
  TracerScope tracer;
  FlushAll();
  ++tls_state.in_record;  // a signal handler's allocation must not flush now
  g_flush_lock.Lock();
  if (!g_finished && g_writer.active()) {
    if (g_writer.MakeRoom(8192)) append_final(g_writer.buffer());
    g_writer.Drain();
  }
  if (stop) {
    g_finished = true;
    g_tracing.store(false, std::memory_order_relaxed);
  }
  g_flush_lock.Unlock();
  --tls_state.in_record;
}

// ---- Background flushing ---------------------------------------------------

// Reads a sample: RSS, mallinfo2 (which locks every arena) and the arena
// heaps. Done without g_flush_lock, so threads that need to flush do not
// wait for it. `heaps` must stay valid until the sample is written.
SampleValues ReadSample(bool final, ArenaHeapValues* heaps) {
  SampleValues sample;
  sample.seq = g_seq.load(std::memory_order_seq_cst);
  sample.time_ns = MonotonicNs();
  sample.final = final;
  g_heap.TakeSample(sample, heaps);
  return sample;
}

// Takes a sample and writes it; with g_flush_lock held (at the end).
void WriteSampleLocked(bool final) {
  static ArenaHeapValues heaps[HeapObserver::kMaxArenaHeaps];  // under g_flush_lock
  const SampleValues sample = ReadSample(final, heaps);
  if (g_writer.MakeRoom(32 * 1024)) AppendSample(sample, g_writer.buffer());
}

// The flush thread's periodic sample.
void TakeSampleIfActive() {
  static ArenaHeapValues heaps[HeapObserver::kMaxArenaHeaps];  // the flush thread's
  const uint64_t seq = g_seq.load(std::memory_order_relaxed);
  if (seq == g_sampled_through_seq.load(std::memory_order_relaxed)) return;
  g_sampled_through_seq.store(seq, std::memory_order_relaxed);
  const SampleValues sample = ReadSample(false, heaps);
  g_flush_lock.Lock();
  if (!g_finished && !g_need_open && g_writer.active() && g_writer.MakeRoom(32 * 1024))
    AppendSample(sample, g_writer.buffer());
  g_flush_lock.Unlock();
}

void* FlushThreadMain(void*) {
  tls_state.in_tracer = 1;  // this thread is heapgap's own
  int stack_marker = 0;
  g_flush_thread_stack = reinterpret_cast<uintptr_t>(&stack_marker);
  __atomic_store_n(&g_flush_thread_tid, CurrentTid(), __ATOMIC_RELEASE);
  for (;;) {
    timespec delay{0, static_cast<long>(kSampleIntervalNs)};
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
    }
    if (!g_tracing.load(std::memory_order_relaxed)) continue;
    TakeSampleIfActive();
    if (FlushPendingWork() &&
        MonotonicNs() - g_last_flush_ns.load(std::memory_order_relaxed) >= kFlushIntervalNs)
      FlushAll();
  }
  return nullptr;
}

void StartFlushThread() {
  if (!g_options.flush_thread) return;
  TracerScope tracer;
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return;
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all;
  sigfillset(&all);
  // The program's signals must never be delivered to heapgap's thread.
  pthread_attr_setsigmask_np(&attr, &all);
  pthread_t thread;
  g_flush_thread_tid = 0;
  // The name tells the exit-time leak scan which thread is heapgap's, even
  // before the thread has run.
  if (pthread_create(&thread, &attr, FlushThreadMain, nullptr) == 0)
    pthread_setname_np(thread, "heapgap-flush");
  pthread_attr_destroy(&attr);
}

// ---- Start-up, fork and exit ------------------------------------------------

void OwnFunction() {}

struct ModuleSearch {
  uintptr_t address;
  const char* suffix;
  bool found;
};

int MatchModule(dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<ModuleSearch*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type != PT_LOAD || search->address < start || search->address >= start + ph.p_memsz)
      continue;
    const size_t n = strlen(info->dlpi_name), m = strlen(search->suffix);
    search->found = n >= m && strcmp(info->dlpi_name + n - m, search->suffix) == 0;
    return 1;
  }
  return 0;
}

// True when `address` lies in a module whose path ends with `suffix`.
bool ModuleNameEndsWith(uintptr_t address, const char* suffix) {
  ModuleSearch search{address, suffix, false};
  dl_iterate_phdr(MatchModule, &search);
  return search.found;
}

bool Initialize() {
  TracerScope tracer;
  ParseOptions(getenv("HEAPGAP_OPTIONS"), g_options, Complain);
  g_scratch = static_cast<uint8_t*>(MapPages(kScratchBytes));
  if (!g_scratch) return false;
  g_modules.Init(reinterpret_cast<uintptr_t>(&OwnFunction));
  g_glibc_chunks = ModuleNameEndsWith(reinterpret_cast<uintptr_t>(&__libc_malloc), "/libc.so.6");
  g_process.pid = getpid();
  g_process.parent_pid = getppid();
  g_process.start_time_unix_ns = RealtimeNs();
  g_process.start_time_mono_ns = MonotonicNs();
  g_heap.Init();
  g_process.heap_start = g_heap.heap_start();
  if (!OpenTrace()) return false;
  g_last_flush_ns.store(g_process.start_time_mono_ns, std::memory_order_relaxed);
  return true;
}

void ForkPrepare() {
  ++tls_state.in_tracer;
  g_flush_lock.Lock();
  g_registry_lock.Lock();
}

void ForkParent() {
  g_registry_lock.Unlock();
  g_flush_lock.Unlock();
  --tls_state.in_tracer;
}

void ForkChild() {
  // Only this thread exists now. Its buffered events and every other slot
  // belong to the parent's trace; the child starts a trace of its own.
  g_flush_lock.ResetAfterFork();
  g_registry_lock.ResetAfterFork();
  ThreadSlot* self = tls_state.slot;
  for (ThreadSlot* s = g_slots; s; s = s->next) {
    s->lock.ResetAfterFork();
    s->count[0] = s->count[1] = 0;
    s->pending_seq.store(kNoPending, std::memory_order_relaxed);
    s->lost_events.store(0, std::memory_order_relaxed);
    s->live = s == self;
    if (s == self) s->tid = CurrentTid();
  }
  g_stacks.ResetForNewTrace();
  g_modules.ResetForNewTrace();
  g_heap.ResetForNewTrace();
  g_live.ResetLocksAfterFork();
  ResetOwnMappingsAfterFork();
  ResetPrivateHeapAfterFork();
  g_flush_thread_tid = 0;
  g_flush_thread_stack = 0;
  g_writer.AbandonInheritedFile();
  g_process.pid = getpid();
  g_process.parent_pid = getppid();
  g_process.forked = true;
  g_process.start_time_unix_ns = RealtimeNs();
  g_process.start_time_mono_ns = MonotonicNs();
  g_events.store(0, std::memory_order_relaxed);
  g_lost_events.store(0, std::memory_order_relaxed);
  g_flushed_through_seq.store(0, std::memory_order_relaxed);
  g_sampled_through_seq.store(0, std::memory_order_relaxed);
  if (g_tracing.load(std::memory_order_relaxed)) {
    g_need_open = true;
    StartFlushThread();
  }
  --tls_state.in_tracer;
}

// The main heap chunk by chunk, for the analyzer to check its model against.
void WriteHeapWalkLocked() {
  auto* chunks = static_cast<uint64_t*>(MapPages(kMaxWalkedChunks * sizeof(uint64_t)));
  if (!chunks) return;
  uint64_t brk;
  bool complete;
  const size_t n =
      g_glibc_chunks ? g_heap.WalkMainHeap(chunks, kMaxWalkedChunks, brk, complete) : 0;
  if (!g_glibc_chunks) {
    brk = 0;
    complete = false;
  }
  const size_t record_bytes = n * 10 + 64;
  auto* record = static_cast<uint8_t*>(MapPages(record_bytes + n * 10));
  if (record) {
    wire::Writer out(record, record_bytes);
    if (AppendHeapWalk(g_heap.heap_start(), brk, chunks, n, complete, record + record_bytes,
                       n * 10, out))
      g_writer.WriteDirect(out.data(), out.size());
    UnmapPages(record, record_bytes + n * 10);
  }
  UnmapPages(chunks, kMaxWalkedChunks * sizeof(uint64_t));
}

// What valgrind does at exit too: libc and libstdc++ free the buffers they
// keep for the life of the process, so those are not reported. Only when no
// other thread could still use them.
void FreeRuntimeBuffers() {
  if (!g_options.freeres || CountThreads(g_flush_thread_tid) != 1) return;
  using FreeresFn = void (*)();
  TracerScope tracer;  // dlsym itself
  auto cxx = reinterpret_cast<FreeresFn>(dlsym(RTLD_DEFAULT, "_ZN9__gnu_cxx9__freeresEv"));
  auto libc = reinterpret_cast<FreeresFn>(dlsym(RTLD_DEFAULT, "__libc_freeres"));
  --tls_state.in_tracer;  // their frees are the program's
  if (cxx) cxx();
  if (libc) libc();
  ++tls_state.in_tracer;
}

void WriteLeakScanLocked(uintptr_t stack_start) {
  if (!g_options.leak_check) return;
  LeakScanSettings settings;
  settings.scan_mappings = g_options.scan_mappings;
  g_modules.OwnRange(settings.own_module_begin, settings.own_module_end);
  settings.stack_start = stack_start;
  settings.skip_tid = g_flush_thread_tid;
  settings.skip_stack_address = g_flush_thread_stack;
  settings.seq = g_seq.load(std::memory_order_seq_cst);
  settings.time_ns = MonotonicNs();
  RunLeakScan(settings, g_live, g_writer);
}

void OnExit(int status, void*) {
  const uintptr_t stack_start = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (g_tracing.load(std::memory_order_relaxed)) FreeRuntimeBuffers();
  FinishTrace(
      [status, stack_start](wire::Writer& out) {
        WriteSampleLocked(/*final=*/true);
        WriteHeapWalkLocked();
        WriteLeakScanLocked(stack_start);
        TrailerInfo trailer;
        trailer.exit_status = status;
        trailer.end_time_mono_ns = MonotonicNs();
        trailer.events = g_events.load(std::memory_order_relaxed);
        trailer.lost_events = g_lost_events.load(std::memory_order_relaxed);
        AppendTrailer(trailer, out);
      },
      /*stop=*/true);
}

// pthread key destructor, run by the exiting thread.
void OnThreadExit(void* slot) {
  ThreadState& t = tls_state;
  if (!g_tracing.load(std::memory_order_relaxed) || t.in_record || t.slot != slot) return;
  AppendSimple(t, t.slot, op::kThreadExit);
}

}  // namespace

bool StartTracingIfNeeded() {
  if (g_init.load(std::memory_order_acquire) != InitState::kNotStarted) {
    return g_tracing.load(std::memory_order_relaxed);
  }
  // Before libc has run its own initialisation (allocations made by the
  // dynamic loader), the environment is not readable yet: wait.
  if (!g_constructor_ran && environ == nullptr) return false;
  InitState expected = InitState::kNotStarted;
  if (!g_init.compare_exchange_strong(expected, InitState::kRunning)) return false;
  const bool ok = Initialize();
  g_tracing.store(ok, std::memory_order_release);
  g_init.store(ok ? InitState::kReady : InitState::kOff, std::memory_order_release);
  return ok;
}

void RecordAllocation(uint32_t op, void* address, uint64_t size, int64_t aux) {
  ThreadState& t = tls_state;
  if (t.in_record) {
    if (t.slot) t.slot->lost_events.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int saved_errno = errno;
  ThreadSlot* slot = CurrentSlot(t);
  if (!slot) {
    errno = saved_errno;
    return;
  }
  uint64_t stack = 0;
  if (!t.in_unwind) {
    ++t.in_unwind;
    stack = CaptureStack(slot);
    --t.in_unwind;
  }
  RawEvent event = MakeEvent(op, reinterpret_cast<uint64_t>(address), size, stack);
  const uint64_t header = ChunkHeader(address);
  event.chunk_header = header;
  if (header & kChunkMmapped) event.mmapped_chunk_offset = ChunkPrevSize(address);
  event.aux[0] = aux;
  if (g_options.leak_check) {
    ++t.in_record;  // a signal handler's allocation now must not take this shard lock again
    g_live.Insert(LiveBlock{event.address, size, FamilyOfOp(op), false});
    --t.in_record;
  }
  const uint64_t seq = AppendNow(t, slot, event);
  AfterCall(t, slot, seq, stack);
  if ((header & (kChunkMmapped | kChunkNonMainArena)) == kChunkNonMainArena) {
    ArenaHeapValues heap;
    ++t.in_record;
    const bool changed = g_heap.ClaimArenaHeapChange(event.address, slot->arena_heap, heap);
    --t.in_record;
    if (changed) {
      RawEvent change = MakeEvent(op::kArenaHeap, heap.start, heap.size, stack);
      change.aux[0] = static_cast<int64_t>(heap.mprotect_size);
      change.aux[1] = static_cast<int64_t>(heap.arena);
      change.aux[2] = static_cast<int64_t>(heap.previous);
      AppendNow(t, slot, change);
    }
  }
  errno = saved_errno;
}

void RecordCall(uint32_t op, uint64_t address, uint64_t size, const int64_t* aux) {
  ThreadState& t = tls_state;
  // libunwind maps its own memory while unwinding: not the program's.
  if (t.in_unwind) return;
  if (t.in_record) {
    if (t.slot) t.slot->lost_events.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int saved_errno = errno;
  ThreadSlot* slot = CurrentSlot(t);
  if (slot) {
    ++t.in_unwind;
    const uint64_t stack = CaptureStack(slot);
    --t.in_unwind;
    RawEvent event = MakeEvent(op, address, size, stack);
    for (int i = 0; i < op::AuxCount(op); ++i) event.aux[i] = aux[i];
    const uint64_t seq = AppendNow(t, slot, event);
    AfterCall(t, slot, seq, stack);
  }
  errno = saved_errno;
}

void NoteBreakBeforeCall() {
  uint64_t old_break, new_break;
  ThreadState& t = tls_state;
  if (t.in_record || !g_heap.ClaimBreakMove(old_break, new_break)) return;
  const int saved_errno = errno;
  if (ThreadSlot* slot = CurrentSlot(t)) AppendBreakMove(t, slot, old_break, new_break, 0, 0);
  errno = saved_errno;
}

bool BeginRelease(uint32_t op, void* address, PendingRelease& release) {
  ThreadState& t = tls_state;
  if (t.in_record) {
    if (t.slot) t.slot->lost_events.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const int saved_errno = errno;
  ThreadSlot* slot = CurrentSlot(t);
  if (slot) {
    if (g_options.leak_check) {
      LiveBlock block;
      ++t.in_record;
      release.erased = g_live.Erase(reinterpret_cast<uint64_t>(address), &block);
      --t.in_record;
      release.unknown = !release.erased;
      if (release.erased) {
        release.erased_size = block.size;
        release.erased_family = static_cast<uint8_t>(block.family);
      }
      // A mismatched or unknown release gets its own stack for the report.
      if ((release.unknown || block.family != FamilyOfOp(op)) && !t.in_unwind) {
        ++t.in_unwind;
        release.stack = CaptureStack(slot);
        --t.in_unwind;
      }
    }
    release.slot = slot;
    release.address = reinterpret_cast<uint64_t>(address);
    release.chunk_header = ChunkHeader(address);
    release.chunk_offset = (release.chunk_header & kChunkMmapped) ? ChunkPrevSize(address) : 0;
    release.seq = ReserveSeq(slot, release.saved_pending);
    release.time_ns = MonotonicNs();
  }
  errno = saved_errno;
  return slot != nullptr;
}

void FinishRelease(PendingRelease& release, uint32_t op, void* address, uint64_t size) {
  const int saved_errno = errno;
  RawEvent event = MakeEvent(op, reinterpret_cast<uint64_t>(address), size, release.stack);
  event.seq = release.seq;
  event.time_ns = release.time_ns;
  event.chunk_header = release.chunk_header;
  event.mmapped_chunk_offset = release.chunk_offset;
  Append(tls_state, release.slot, event);
  ReleaseSeq(release.slot, release.saved_pending);
  AfterCall(tls_state, release.slot, release.seq, 0);
  errno = saved_errno;
}

void CancelRelease(PendingRelease& release) {
  if (release.erased) {
    ThreadState& t = tls_state;
    ++t.in_record;
    g_live.Insert(LiveBlock{release.address, release.erased_size,
                            static_cast<AllocFamily>(release.erased_family), false});
    --t.in_record;
  }
  ReleaseSeq(release.slot, release.saved_pending);
}

void FlushNow() { FlushAll(); }

void OnLibraryLoad() {
  g_constructor_ran = true;
  if (!StartTracingIfNeeded()) return;
  TracerScope tracer;
  g_thread_key_ready = pthread_key_create(&g_thread_key, OnThreadExit) == 0;
  if (ThreadSlot* slot = tls_state.slot; slot && g_thread_key_ready)
    pthread_setspecific(g_thread_key, slot);
  // Runs after every library destructor: on_exit from a constructor is
  // registered before libc registers the loader's fini handler.
  on_exit(OnExit, nullptr);
  pthread_atfork(ForkPrepare, ForkParent, ForkChild);
  StartFlushThread();
}

void BeforeExec(const char* path) {
  FinishTrace(
      [path](wire::Writer& out) { AppendProcessEnd(EndHow::kExec, 0, MonotonicNs(), path, out); },
      /*stop=*/false);
}

void BeforeImmediateExit(int status) {
  FinishTrace(
      [status](wire::Writer& out) {
        AppendProcessEnd(EndHow::kExitImmediate, status, MonotonicNs(), nullptr, out);
      },
      /*stop=*/true);
}

void BeforeAbort() {
  FinishTrace(
      [](wire::Writer& out) { AppendProcessEnd(EndHow::kAbort, 0, MonotonicNs(), nullptr, out); },
      /*stop=*/true);
}

}  // namespace heapgap
