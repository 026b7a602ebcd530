#include "symbolizer/symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace heapgap {
namespace {

struct FunctionSymbol {
  uint64_t start;
  uint64_t size;
  const char* name;  // owned by the Dwfl
};

// A module file opened for lookups: one Dwfl holding one module reported at
// bias 0, so lookups use file virtual addresses and any load bias is served.
struct OpenModule {
  struct DwflDeleter {
    void operator()(Dwfl* dwfl) const { dwfl_end(dwfl); }
  };
  std::unique_ptr<Dwfl, DwflDeleter> dwfl;
  Dwfl_Module* module = nullptr;  // null when no usable file was found
  // Function symbols sorted by address, loaded on first lookup.
  // dwfl_module_addrinfo scans the whole symbol table on every call, which
  // dominates lookups in large modules such as libc with its debug symbols.
  std::vector<FunctionSymbol> symbols;
  bool symbols_loaded = false;
  // Frames by looked-up file address (return address - 1 - load bias), with
  // `address` left 0: callers fill it in, as it depends on the load bias.
  absl::flat_hash_map<uint64_t, std::vector<SymbolizedFrame>> frames_by_pc;
};

// Name of an inlined_subroutine or subprogram DIE, following
// DW_AT_abstract_origin and DW_AT_specification. The linkage name is
// preferred: demangled, it carries the class, namespace and parameters.
std::string DieFunctionName(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (int name_attr : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, name_attr, &attr) != nullptr) {
      if (const char* name = dwarf_formstring(&attr)) return DemangleSymbol(name);
    }
  }
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) {
    if (const char* name = dwarf_formstring(&attr)) return name;
  }
  return "";
}

// A source path as shown to users. elfutils joins file names with their
// line-table directory but not a relative directory with a relative
// DW_AT_comp_dir (builds using -fdebug-prefix-map=...=.), which leaves paths
// such as "../sysdeps/x.c" relative to an unknown place. Those are resolved
// against the compilation directory and tidied; absolute paths are kept.
std::string SourcePath(const char* name, Dwarf_Die* cu) {
  std::string path(name);
  if (path.empty() || path[0] == '/') return path;
  Dwarf_Attribute attr;
  const char* comp_dir =
      cu != nullptr ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr))
                    : nullptr;
  if (comp_dir != nullptr && *comp_dir != '\0' &&
      !absl::StartsWith(path, absl::StrCat(comp_dir, "/"))) {
    path = absl::StrCat(comp_dir, "/", path);
  }
  return std::filesystem::path(path).lexically_normal().string();
}

// The caller's location recorded on an inlined_subroutine DIE.
void InlinedCallSite(Dwarf_Die* inlined, std::string* file, int* line) {
  file->clear();
  *line = 0;
  Dwarf_Attribute attr;
  Dwarf_Word value;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &value) ==
      0) {
    *line = static_cast<int>(value);
  }
  Dwarf_Die cu;
  Dwarf_Files* files;
  size_t file_count;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &value) ==
          0 &&
      dwarf_diecu(inlined, &cu, nullptr, nullptr) != nullptr &&
      dwarf_getsrcfiles(&cu, &files, &file_count) == 0 && value < file_count) {
    if (const char* name = dwarf_filesrc(files, value, nullptr, nullptr)) {
      *file = SourcePath(name, &cu);
    }
  }
}

bool ModuleHasBuildId(Dwfl_Module* module, const std::string& build_id) {
  const unsigned char* bits;
  GElf_Addr vaddr;
  int length = dwfl_module_build_id(module, &bits, &vaddr);
  return length > 0 &&
         std::string(reinterpret_cast<const char*>(bits), length) == build_id;
}

// Preference among symbols at the same address: global names are the ones
// callers know; local ones are often aliases such as __GI_memcpy.
int BindingRank(const GElf_Sym& sym) {
  switch (GELF_ST_BIND(sym.st_info)) {
    case STB_GLOBAL: return 0;
    case STB_WEAK: return 1;
    default: return 2;
  }
}

std::vector<FunctionSymbol> LoadFunctionSymbols(Dwfl_Module* module) {
  struct Candidate {
    FunctionSymbol symbol;
    int rank;
  };
  std::vector<Candidate> candidates;
  const int count = dwfl_module_getsymtab(module);
  for (int i = 1; i < count; ++i) {
    GElf_Sym sym;
    GElf_Addr address;
    GElf_Word section;
    const char* name = dwfl_module_getsym_info(module, i, &sym, &address,
                                               &section, nullptr, nullptr);
    const int type = GELF_ST_TYPE(sym.st_info);
    if (name == nullptr || *name == '\0' || sym.st_size == 0 ||
        section == SHN_UNDEF ||
        (type != STT_FUNC && type != STT_GNU_IFUNC)) {
      continue;
    }
    candidates.push_back({{address, sym.st_size, name}, BindingRank(sym)});
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) {
              if (a.symbol.start != b.symbol.start) {
                return a.symbol.start < b.symbol.start;
              }
              return a.rank < b.rank;
            });
  std::vector<FunctionSymbol> symbols;
  symbols.reserve(candidates.size());
  for (const Candidate& candidate : candidates) {
    if (symbols.empty() || symbols.back().start != candidate.symbol.start) {
      symbols.push_back(candidate.symbol);
    }
  }
  return symbols;
}

// The function symbol whose range contains pc, or nullptr.
const char* FunctionSymbolAt(const std::vector<FunctionSymbol>& symbols,
                             uint64_t pc) {
  auto it = std::upper_bound(
      symbols.begin(), symbols.end(), pc,
      [](uint64_t value, const FunctionSymbol& s) { return value < s.start; });
  // Symbols rarely nest; look back a little past ones that end before pc.
  for (int steps = 0; it != symbols.begin() && steps < 8; ++steps) {
    --it;
    if (pc - it->start < it->size) return it->name;
  }
  return nullptr;
}

}  // namespace

std::string DemangleSymbol(std::string_view name) {
  // Version suffixes come from .dynsym-style names ("memcpy@@GLIBC_2.14");
  // mangled names never contain '@'.
  std::string plain(name.substr(0, name.find('@')));
  if (plain.size() < 2 || plain[0] != '_' || plain[1] != 'Z') return plain;
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(plain.c_str(), nullptr, nullptr, &status),
      &std::free);
  if (status != 0 || demangled == nullptr) return plain;
  return demangled.get();
}

class Symbolizer::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {
    // libdwfl's search path: "" and ".debug" next to the module (for
    // .gnu_debuglink), then each root, which is also where .build-id/ is
    // searched.
    debuginfo_path_storage_ =
        absl::StrCat(":.debug:", absl::StrJoin(options_.debug_roots, ":"));
    debuginfo_path_ = debuginfo_path_storage_.data();
    callbacks_.find_elf = dwfl_build_id_find_elf;
    callbacks_.find_debuginfo = dwfl_standard_find_debuginfo;
    callbacks_.section_address = dwfl_offline_section_address;
    callbacks_.debuginfo_path = &debuginfo_path_;
  }

  std::vector<SymbolizedFrame> Symbolize(const ModuleInfo& info,
                                         uint64_t return_address);
  Stats stats() const { return stats_; }

 private:
  OpenModule& FindOrOpen(const ModuleInfo& info);
  // Reports `file` as the only module of a new Dwfl, at bias 0. Accepts it
  // only if its build-id equals `build_id` (when that is non-empty).
  bool ReportFile(const std::string& file, const std::string& build_id,
                  OpenModule* open);
  static std::vector<SymbolizedFrame> Lookup(OpenModule& open, uint64_t pc);

  Options options_;
  std::string debuginfo_path_storage_;
  char* debuginfo_path_ = nullptr;
  Dwfl_Callbacks callbacks_{};
  // Keyed by (path, build-id). node_hash_map keeps OpenModule addresses
  // stable.
  absl::node_hash_map<std::pair<std::string, std::string>, OpenModule>
      modules_;
  Stats stats_{0, 0, 0};
};

bool Symbolizer::Impl::ReportFile(const std::string& file,
                                  const std::string& build_id,
                                  OpenModule* open) {
  std::unique_ptr<Dwfl, OpenModule::DwflDeleter> dwfl(dwfl_begin(&callbacks_));
  if (dwfl == nullptr) return false;
  dwfl_report_begin(dwfl.get());
  Dwfl_Module* module = dwfl_report_elf(dwfl.get(), file.c_str(), file.c_str(),
                                        /*fd=*/-1, /*base=*/0,
                                        /*add_p_vaddr=*/true);
  if (dwfl_report_end(dwfl.get(), nullptr, nullptr) != 0 ||
      module == nullptr) {
    return false;
  }
  if (!build_id.empty() && !ModuleHasBuildId(module, build_id)) return false;
  open->dwfl = std::move(dwfl);
  open->module = module;
  return true;
}

OpenModule& Symbolizer::Impl::FindOrOpen(const ModuleInfo& info) {
  auto [it, inserted] = modules_.try_emplace({info.path, info.build_id});
  OpenModule& open = it->second;
  if (!inserted) return open;
  ++stats_.modules_opened;

  // The file itself, when it exists and is the binary that was traced.
  if (!info.path.empty() && info.path[0] == '/' &&
      access(info.path.c_str(), R_OK) == 0 &&
      ReportFile(info.path, info.build_id, &open)) {
    return open;
  }
  // Otherwise (missing, replaced since the trace, "[vdso]"), only debug info
  // found by build-id describes the traced binary. A .debug file keeps the
  // program headers and symbol table, so it can stand in for the binary.
  if (info.build_id.size() >= 2) {
    const std::string hex = absl::BytesToHexString(info.build_id);
    for (const std::string& root : options_.debug_roots) {
      for (const char* suffix : {".debug", ""}) {
        std::string candidate = absl::StrCat(root, "/.build-id/", hex.substr(0, 2),
                                             "/", hex.substr(2), suffix);
        if (access(candidate.c_str(), R_OK) == 0 &&
            ReportFile(candidate, info.build_id, &open)) {
          return open;
        }
      }
    }
  }
  return open;
}

std::vector<SymbolizedFrame> Symbolizer::Impl::Lookup(OpenModule& open,
                                                      uint64_t pc) {
  std::vector<SymbolizedFrame> frames;
  Dwfl_Module* module = open.module;

  // Symbol table name: the real function, and all there is without DWARF.
  if (!open.symbols_loaded) {
    open.symbols = LoadFunctionSymbols(module);
    open.symbols_loaded = true;
  }
  const char* symbol_name = FunctionSymbolAt(open.symbols, pc);
  if (symbol_name == nullptr) {
    // Sizeless or unusual symbols (hand-written assembly): let libdwfl decide.
    GElf_Off offset;
    GElf_Sym symbol;
    symbol_name = dwfl_module_addrinfo(module, pc, &offset, &symbol, nullptr,
                                       nullptr, nullptr);
    const int type = GELF_ST_TYPE(symbol.st_info);
    if (symbol_name != nullptr && type != STT_FUNC && type != STT_GNU_IFUNC &&
        type != STT_NOTYPE) {
      symbol_name = nullptr;  // a data object next to code is no function
    }
  }

  // Innermost location from the line table.
  std::string file;
  int line = 0;
  if (Dwfl_Line* line_entry = dwfl_module_getsrc(module, pc)) {
    if (const char* name = dwfl_lineinfo(line_entry, nullptr, &line, nullptr,
                                         nullptr, nullptr)) {
      file = SourcePath(name, dwfl_linecu(line_entry));
    }
  }

  // Inline chain. dwarf_getscopes stops at the innermost inlined scope, so
  // the full chain comes from re-walking that DIE with dwarf_getscopes_die.
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(module, pc, &bias);
  Dwarf_Die* scopes = nullptr;
  int scope_count = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
  if (scope_count > 0) {
    Dwarf_Die innermost = scopes[0];
    free(scopes);
    scopes = nullptr;
    scope_count = dwarf_getscopes_die(&innermost, &scopes);
  }
  for (int i = 0; i < scope_count; ++i) {
    Dwarf_Die* scope = &scopes[i];
    const int tag = dwarf_tag(scope);
    if (tag == DW_TAG_inlined_subroutine) {
      SymbolizedFrame frame;
      frame.function = DieFunctionName(scope);
      frame.file = file;
      frame.line = line;
      frame.inlined = true;
      frames.push_back(std::move(frame));
      InlinedCallSite(scope, &file, &line);  // location in the next frame out
    } else if (tag == DW_TAG_subprogram) {
      SymbolizedFrame frame;
      // The symbol name shows clone suffixes (".isra.0", ".cold") that
      // DWARF's abstract name does not.
      frame.function = symbol_name ? DemangleSymbol(symbol_name)
                                   : DieFunctionName(scope);
      frame.file = std::move(file);
      frame.line = line;
      frames.push_back(std::move(frame));
      break;
    }
  }
  free(scopes);

  if (frames.empty() || frames.back().inlined) {
    // No DWARF scope for pc (or no enclosing subprogram found): the symbol
    // table and the line table are all there is.
    SymbolizedFrame frame;
    if (symbol_name) frame.function = DemangleSymbol(symbol_name);
    frame.file = std::move(file);
    frame.line = line;
    frames.push_back(std::move(frame));
  }
  return frames;
}

std::vector<SymbolizedFrame> Symbolizer::Impl::Symbolize(
    const ModuleInfo& info, uint64_t return_address) {
  ++stats_.lookups;
  SymbolizedFrame bare;
  bare.address = return_address;
  bare.module = info.path;
  bare.module_offset = return_address - info.load_bias;

  // Return addresses point after the call; the call itself is one byte back.
  const uint64_t call_address = return_address - 1;
  bool in_module = return_address > info.load_bias;
  if (in_module && !info.segments.empty()) {
    in_module = false;
    for (const ModuleSegment& segment : info.segments) {
      if (call_address >= segment.start &&
          call_address - segment.start < segment.size) {
        in_module = true;
        break;
      }
    }
  }
  if (!in_module) return {bare};

  OpenModule& open = FindOrOpen(info);
  if (open.module == nullptr) return {bare};

  const uint64_t pc = call_address - info.load_bias;
  auto [it, inserted] = open.frames_by_pc.try_emplace(pc);
  if (inserted) {
    it->second = Lookup(open, pc);
  } else {
    ++stats_.cache_hits;
  }
  std::vector<SymbolizedFrame> frames = it->second;
  for (SymbolizedFrame& frame : frames) {
    frame.address = return_address;
    frame.module = info.path;
    frame.module_offset = bare.module_offset;
  }
  return frames;
}

Symbolizer::Symbolizer() : Symbolizer(Options()) {}

Symbolizer::Symbolizer(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Symbolizer::~Symbolizer() = default;

std::vector<SymbolizedFrame> Symbolizer::Symbolize(const ModuleInfo& module,
                                                   uint64_t return_address) {
  return impl_->Symbolize(module, return_address);
}

SymbolizedFrame Symbolizer::Unknown(uint64_t return_address) {
  SymbolizedFrame frame;
  frame.address = return_address;
  return frame;
}

Symbolizer::Stats Symbolizer::stats() const { return impl_->stats(); }

}  // namespace heapgap
