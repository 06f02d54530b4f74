#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::cli {

// The width --help wraps to: $COLUMNS, else the terminal on stdout, else 80; kept within 40..100
// (a wider paragraph is hard to read).
std::size_t help_columns();

// `text` broken at blanks into lines of at most `width` characters (a word longer than that is
// cut); a newline in `text` always breaks.
std::vector<std::string> wrap_words(std::string_view text, std::size_t width);

// CLI11's formatter, but every line fits `columns`: option names on the left, their description
// wrapped in a column of its own (starting on the next line when the names are long).
class HelpFormatter : public CLI::Formatter {
 public:
  explicit HelpFormatter(std::size_t columns);

  // CLI11's layout, with the option groups in the order a reader looks for them (ordered_groups).
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override;
  std::string make_option(const CLI::Option* opt, bool is_positional) const override;
  std::string make_subcommand(const CLI::App* sub) const override;
  std::string make_description(const CLI::App* app) const override;
  std::string make_usage(const CLI::App* app, std::string name) const override;
  std::string make_footer(const CLI::App* app) const override;

 private:
  // Input, Selection, Threads, Output, Cache, then any other (CLI11 would list them in the order
  // their first option was added; its make_groups is not virtual).
  std::string ordered_groups(const CLI::App* app, CLI::AppFormatMode mode) const;
  std::string two_columns(const std::string& left, const std::string& right) const;
  std::string paragraph(std::string_view text, std::size_t indent) const;

  std::size_t m_columns;
  std::size_t m_left;  // where descriptions start
};

}  // namespace spindle::cli
