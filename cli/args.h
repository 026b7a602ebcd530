// A small command-line parser for one subcommand's options.
//
// Accepts "--name value", "--name=value", "-n value" and "-nvalue" for options
// that take a value, "--flag" and "-f" for those that do not, and "--" to end
// the options. Later occurrences of an option replace earlier ones in
// Value(); Values() has them all.
#ifndef HEAPGAP_CLI_ARGS_H_
#define HEAPGAP_CLI_ARGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace heapgap::cli {

struct OptionSpec {
  absl::string_view name;  // long name without dashes
  char short_name = 0;    // 0: none
  bool takes_value = false;
};

struct ParsedArgs {
  std::map<std::string, std::string, std::less<>> values;  // by long name; "" for flags
  // Every value of each option, in order, for options that may be repeated.
  std::map<std::string, std::vector<std::string>, std::less<>> all_values;
  std::vector<std::string> positional;

  bool Has(absl::string_view name) const { return values.find(name) != values.end(); }
  std::optional<std::string> Value(absl::string_view name) const;
  // All values given for `name`, in command-line order.
  std::vector<std::string> Values(absl::string_view name) const;
};

// `stop_at_positional`: the first positional argument and everything after
// it are positional (for `run`, whose program has options of its own).
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<OptionSpec>& specs,
                                     bool stop_at_positional);

// A non-negative decimal integer option value, or an error naming the option.
absl::StatusOr<uint64_t> ParseCount(absl::string_view option, absl::string_view value);

}  // namespace heapgap::cli

#endif  // HEAPGAP_CLI_ARGS_H_
