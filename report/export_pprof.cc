#include "report/export_pprof.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace heapgap::report {
namespace {

namespace pb = perftools::profiles;

// The sample types, in the order of StackValues' measures they come from.
struct SampleType {
  const char* type;
  const char* unit;
  StackMeasure measure;
};
constexpr SampleType kSampleTypes[] = {
    {"alloc_objects", "count", StackMeasure::kAllocations},
    {"alloc_space", "bytes", StackMeasure::kAllocatedBytes},
    {"peak_inuse_objects", "count", StackMeasure::kPeakBlocks},
    {"peak_inuse_space", "bytes", StackMeasure::kPeakBytes},
    {"leak_objects", "count", StackMeasure::kLeakedBlocks},
    {"leak_space", "bytes", StackMeasure::kLeakedBytes},
    {"temporary_objects", "count", StackMeasure::kTemporary},
};
constexpr const char* kDefaultSampleType = "peak_inuse_space";

class ProfileBuilder {
 public:
  ProfileBuilder(const TraceAnalysis& analysis, pb::Profile& profile)
      : analysis_(analysis), profile_(profile) {
    profile_.add_string_table("");
  }

  int64_t String(const std::string& s) {
    auto [it, inserted] = strings_.try_emplace(s, profile_.string_table_size());
    if (inserted) profile_.add_string_table(s);
    return it->second;
  }

  // The location of one return address: `frames` are its inlined calls then
  // its function, innermost first (all with the same address).
  uint64_t Location(const std::vector<const SymbolizedFrame*>& frames) {
    const SymbolizedFrame& outer = *frames.back();
    auto key = std::make_pair(outer.module, outer.address);
    auto found = locations_.find(key);
    if (found != locations_.end()) return found->second;
    pb::Location* location = profile_.add_location();
    location->set_id(profile_.location_size());
    location->set_mapping_id(Mapping(outer.module));
    location->set_address(outer.address > 0 ? outer.address - 1 : 0);
    for (const SymbolizedFrame* f : frames) {
      pb::Line* line = location->add_line();
      line->set_function_id(Function(*f));
      line->set_line(f->line);
      if (pb::Mapping* m = MappingOf(location->mapping_id())) {
        if (!f->function.empty()) m->set_has_functions(true);
        if (!f->file.empty()) m->set_has_filenames(true);
        if (f->line > 0) m->set_has_line_numbers(true);
        if (f->inlined) m->set_has_inline_frames(true);
      }
    }
    locations_.emplace(std::move(key), location->id());
    return location->id();
  }

  // A location that stands for a stack that was not recorded.
  uint64_t Placeholder(const std::string& name) {
    auto found = placeholders_.find(name);
    if (found != placeholders_.end()) return found->second;
    SymbolizedFrame frame;
    frame.function = name;
    pb::Location* location = profile_.add_location();
    location->set_id(profile_.location_size());
    location->add_line()->set_function_id(Function(frame));
    placeholders_.emplace(name, location->id());
    return location->id();
  }

  // Puts the main executable's mapping first, as pprof expects.
  void OrderMappings() {
    auto& mappings = *profile_.mutable_mapping();
    auto main = std::find_if(mappings.begin(), mappings.end(),
                             [this](const pb::Mapping& m) { return m.id() == main_mapping_; });
    if (main != mappings.end() && main != mappings.begin()) {
      std::rotate(mappings.begin(), main, main + 1);
    }
  }

 private:
  uint64_t Function(const SymbolizedFrame& f) {
    const std::string name = FrameName(f);
    auto key = std::make_pair(name, f.file);
    auto found = functions_.find(key);
    if (found != functions_.end()) return found->second;
    pb::Function* function = profile_.add_function();
    function->set_id(profile_.function_size());
    function->set_name(String(name));
    function->set_system_name(function->name());
    function->set_filename(String(f.file));
    functions_.emplace(std::move(key), function->id());
    return function->id();
  }

  // The mapping of the module at `path`; 0 for frames outside every module.
  uint64_t Mapping(const std::string& path) {
    if (path.empty()) return 0;
    auto found = mappings_.find(path);
    if (found != mappings_.end()) return found->second;
    pb::Mapping* mapping = profile_.add_mapping();
    mapping->set_id(profile_.mapping_size());
    mapping->set_filename(String(path));
    for (size_t i = 0; i < analysis_.modules.size(); ++i) {
      const TracedModule& module = analysis_.modules.module(static_cast<ModuleMap::Index>(i));
      if (module.info.path != path) continue;
      uint64_t start = UINT64_MAX, limit = 0, offset = 0;
      for (const ModuleSegment& segment : module.info.segments) {
        if (segment.start < start) {
          start = segment.start;
          offset = segment.file_offset;
        }
        limit = std::max(limit, segment.start + segment.size);
      }
      if (limit != 0) {
        mapping->set_memory_start(start);
        mapping->set_memory_limit(limit);
        mapping->set_file_offset(offset);
      }
      mapping->set_build_id(String(absl::BytesToHexString(module.info.build_id)));
      if (module.is_main_executable) main_mapping_ = mapping->id();
      break;
    }
    mappings_.emplace(path, mapping->id());
    return mapping->id();
  }

  pb::Mapping* MappingOf(uint64_t id) {
    return id == 0 ? nullptr : profile_.mutable_mapping(static_cast<int>(id - 1));
  }

  const TraceAnalysis& analysis_;
  pb::Profile& profile_;
  absl::flat_hash_map<std::string, int64_t> strings_;
  std::map<std::pair<std::string, uint64_t>, uint64_t> locations_;
  std::map<std::pair<std::string, std::string>, uint64_t> functions_;
  absl::flat_hash_map<std::string, uint64_t> mappings_;
  absl::flat_hash_map<std::string, uint64_t> placeholders_;
  uint64_t main_mapping_ = 0;
};

}  // namespace

pb::Profile BuildPprofProfile(const TraceAnalysis& analysis, const std::vector<StackValues>& stacks,
                              StackSymbolizer& symbolizer) {
  pb::Profile profile;
  ProfileBuilder builder(analysis, profile);
  for (const SampleType& t : kSampleTypes) {
    pb::ValueType* type = profile.add_sample_type();
    type->set_type(builder.String(t.type));
    type->set_unit(builder.String(t.unit));
  }
  profile.set_default_sample_type(builder.String(kDefaultSampleType));
  pb::ValueType* period_type = profile.mutable_period_type();
  period_type->set_type(builder.String("space"));
  period_type->set_unit(builder.String("bytes"));
  profile.set_period(1);
  profile.set_time_nanos(static_cast<int64_t>(analysis.header.start_time_unix_ns()));
  profile.set_duration_nanos(static_cast<int64_t>(analysis.process.duration_ns));
  std::string command;
  for (const std::string& arg : analysis.process.argv) {
    if (!command.empty()) command += ' ';
    command += arg;
  }
  profile.add_comment(builder.String(absl::StrCat("heapgap trace ", analysis.path)));
  profile.add_comment(builder.String(absl::StrCat("pid ", analysis.process.pid, ": ", command)));

  for (const StackValues& s : stacks) {
    pb::Sample* sample = profile.add_sample();
    for (const SampleType& t : kSampleTypes) sample->add_value(static_cast<int64_t>(s[t.measure]));
    const std::vector<SymbolizedFrame> frames =
        symbolizer.Symbolize(s.stack_id, analysis.stacks, analysis.modules);
    if (frames.empty()) {
      sample->add_location_id(
          builder.Placeholder(s.stack_id == 0 ? "[no stack recorded]" : "[unknown stack]"));
      continue;
    }
    // Frames innermost first; an inlined frame belongs to the same return
    // address as the frames after it, up to the first that is not inlined.
    std::vector<const SymbolizedFrame*> group;
    for (const SymbolizedFrame& f : frames) {
      group.push_back(&f);
      if (f.inlined) continue;
      sample->add_location_id(builder.Location(group));
      group.clear();
    }
    if (!group.empty()) sample->add_location_id(builder.Location(group));
  }
  builder.OrderMappings();
  return profile;
}

absl::StatusOr<std::string> Gzip(absl::string_view data) {
  z_stream z{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("cannot initialise zlib");
  }
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (result != Z_STREAM_END) return absl::InternalError("gzip compression failed");
  return out;
}

absl::StatusOr<std::string> Gunzip(absl::string_view data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return absl::InternalError("cannot initialise zlib");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[1 << 16];
  int result = Z_OK;
  while (result == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    result = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
    if (result == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  inflateEnd(&z);
  if (result != Z_STREAM_END) return absl::DataLossError("not a complete gzip stream");
  return out;
}

}  // namespace heapgap::report
