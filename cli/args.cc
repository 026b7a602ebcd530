#include "cli/args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace heapgap::cli {

std::optional<std::string> ParsedArgs::Value(absl::string_view name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ParsedArgs::Values(absl::string_view name) const {
  auto it = all_values.find(name);
  return it == all_values.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<OptionSpec>& specs,
                                     bool stop_at_positional) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positional.insert(parsed.positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (stop_at_positional) {
        parsed.positional.insert(parsed.positional.end(), args.begin() + i, args.end());
        break;
      }
      parsed.positional.push_back(arg);
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::optional<std::string> inline_value;
    if (arg[1] == '-') {
      absl::string_view body = absl::string_view(arg).substr(2);
      absl::string_view name = body.substr(0, body.find('='));
      if (name.size() < body.size()) inline_value = std::string(body.substr(name.size() + 1));
      for (const OptionSpec& s : specs) {
        if (s.name == name) spec = &s;
      }
    } else {
      for (const OptionSpec& s : specs) {
        if (s.short_name != 0 && s.short_name == arg[1]) spec = &s;
      }
      if (spec != nullptr && arg.size() > 2) {
        if (!spec->takes_value) spec = nullptr;  // no bundled flags
        else inline_value = arg.substr(2);
      }
    }
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown option '", arg, "'"));
    const std::string display = absl::StrCat("--", spec->name);
    if (!spec->takes_value) {
      if (inline_value) {
        return absl::InvalidArgumentError(absl::StrCat("option '", display, "' takes no value"));
      }
      parsed.values[std::string(spec->name)] = "";
      continue;
    }
    if (!inline_value) {
      if (i + 1 == args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("option '", display, "' needs a value"));
      }
      inline_value = args[++i];
    }
    parsed.values[std::string(spec->name)] = *inline_value;
    parsed.all_values[std::string(spec->name)].push_back(*inline_value);
  }
  return parsed;
}

absl::StatusOr<uint64_t> ParseCount(absl::string_view option, absl::string_view value) {
  uint64_t n = 0;
  if (value.empty() || value[0] == '-' || value[0] == '+' || !absl::SimpleAtoi(value, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("option '--", option, "' needs a non-negative integer, not '", value, "'"));
  }
  return n;
}

}  // namespace heapgap::cli
