#include "help_format.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace spindle::cli {

std::size_t help_columns() {
  std::size_t columns = 0;
  if (const char* text = std::getenv("COLUMNS"); text != nullptr) {
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (end != text && *end == '\0' && value > 0) {
      columns = static_cast<std::size_t>(value);
    }
  }
  struct winsize size {};
  if (columns == 0 && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    columns = size.ws_col;
  }
  if (columns == 0) {
    columns = 80;
  }
  return std::clamp<std::size_t>(columns, 40, 100);
}

std::vector<std::string> wrap_words(std::string_view text, std::size_t width) {
  std::vector<std::string> lines;
  width = std::max<std::size_t>(width, 1);
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t newline = text.find('\n', start);
    const std::string_view para =
        text.substr(start, newline == std::string_view::npos ? std::string_view::npos : newline - start);
    std::string line;
    std::size_t at = 0;
    while (at < para.size()) {
      if (para[at] == ' ') {
        ++at;
        continue;
      }
      std::size_t end = para.find(' ', at);
      std::string_view word = para.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
      at += word.size();
      if (!line.empty() && line.size() + 1 + word.size() > width) {
        lines.push_back(std::move(line));
        line.clear();
      }
      while (word.size() > width) {  // a word that fits no line: cut it
        if (!line.empty()) {
          lines.push_back(std::move(line));
          line.clear();
        }
        lines.emplace_back(word.substr(0, width));
        word.remove_prefix(width);
      }
      line += line.empty() ? "" : " ";
      line += word;
    }
    lines.push_back(std::move(line));
    if (newline == std::string_view::npos) {
      break;
    }
    start = newline + 1;
  }
  return lines;
}

HelpFormatter::HelpFormatter(std::size_t columns) : m_columns(columns), m_left(std::min<std::size_t>(30, columns / 3)) {
  column_width(m_left);
}

std::string HelpFormatter::paragraph(std::string_view text, std::size_t indent) const {
  std::string out;
  for (const std::string& line : wrap_words(text, m_columns - indent)) {
    out += std::string(line.empty() ? 0 : indent, ' ') + line + '\n';
  }
  return out;
}

std::string HelpFormatter::two_columns(const std::string& left, const std::string& right) const {
  std::string out;
  std::vector<std::string> names = wrap_words(left, m_columns - 2);
  for (std::size_t i = 0; i + 1 < names.size(); ++i) {
    out += "  " + names[i] + '\n';
  }
  std::string last = "  " + names.back();
  std::vector<std::string> lines = right.empty() ? std::vector<std::string>{} : wrap_words(right, m_columns - m_left);
  std::size_t first = 0;
  if (last.size() + 2 <= m_left && !lines.empty()) {
    out += last + std::string(m_left - last.size(), ' ') + lines[0] + '\n';
    first = 1;
  } else {
    out += last + '\n';
  }
  for (std::size_t i = first; i < lines.size(); ++i) {
    out += std::string(m_left, ' ') + lines[i] + '\n';
  }
  return out;
}

std::string HelpFormatter::make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const {
  if (mode == CLI::AppFormatMode::Sub) {
    return CLI::Formatter::make_help(app, std::move(name), mode);
  }
  return make_description(app) + make_usage(app, std::move(name)) + make_positionals(app) + ordered_groups(app, mode) +
         make_subcommands(app, mode) + "\n" + make_footer(app);
}

std::string HelpFormatter::ordered_groups(const CLI::App* app, CLI::AppFormatMode mode) const {
  std::vector<std::string> order{"Input", "Selection", "Threads", "Output", "Cache"};
  for (const std::string& group : app->get_groups()) {
    if (std::find(order.begin(), order.end(), group) == order.end()) {
      order.push_back(group);
    }
  }
  std::string out;
  for (const std::string& group : order) {
    std::vector<const CLI::Option*> options = app->get_options([&](const CLI::Option* opt) {
      return opt->get_group() == group && opt->nonpositional() &&
             (mode != CLI::AppFormatMode::Sub || (opt != app->get_help_ptr() && opt != app->get_help_all_ptr()));
    });
    if (!group.empty() && !options.empty()) {
      out += make_group(group, false, options);
    }
  }
  return out;
}

std::string HelpFormatter::make_option(const CLI::Option* opt, bool is_positional) const {
  return two_columns(make_option_name(opt, is_positional) + make_option_opts(opt), make_option_desc(opt));
}

std::string HelpFormatter::make_subcommand(const CLI::App* sub) const {
  return two_columns(sub->get_display_name(true), sub->get_description());
}

std::string HelpFormatter::make_description(const CLI::App* app) const {
  const std::string text = app->get_description();
  return text.empty() ? std::string() : paragraph(text, 0);
}

std::string HelpFormatter::make_usage(const CLI::App* app, std::string name) const {
  std::string usage = CLI::Formatter::make_usage(app, std::move(name));
  while (!usage.empty() && usage.back() == '\n') {
    usage.pop_back();
  }
  // Continuation lines under the first word after "Usage:".
  std::vector<std::string> lines = wrap_words(usage, m_columns - 7);
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += (i == 0 ? "" : "       ") + lines[i] + '\n';
  }
  return out;
}

std::string HelpFormatter::make_footer(const CLI::App* app) const {
  const std::string text = app->get_footer();
  return text.empty() ? std::string() : paragraph(text, 0);
}

}  // namespace spindle::cli
