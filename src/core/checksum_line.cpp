#include "report_formats.hpp"
#include "utf8.hpp"

#include <spindle/checksum_line.hpp>

#include <array>
#include <charconv>
#include <utility>

namespace spindle {

namespace {

constexpr char k_hex[] = "0123456789abcdef";

std::size_t hex_digits(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::xxh128:
      return 32;
    case HashAlgo::xxh3:
    case HashAlgo::xxh64:
      return 16;
    case HashAlgo::xxh32:
      return 8;
  }
  return 32;
}

bool needs_escape(std::string_view path) {
  return path.find_first_of("\\\n\r") != std::string_view::npos;
}

void append_escaped(std::string& out, std::string_view path) {
  for (char c : path) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

std::optional<std::string> unescape(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '\\') {
      out += name[i];
      continue;
    }
    if (++i == name.size()) {
      return std::nullopt;
    }
    switch (name[i]) {
      case '\\':
        out += '\\';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      default:
        return std::nullopt;
    }
  }
  return out;
}

constexpr std::array<HashAlgo, 4> k_algos{HashAlgo::xxh128, HashAlgo::xxh3, HashAlgo::xxh64, HashAlgo::xxh32};

// `TAG (path) = hex`: the hex has the tag's length, so a name holding ") = " is still read whole.
std::optional<ChecksumEntry> parse_bsd(std::string_view line) {
  for (HashAlgo algo : k_algos) {
    const std::string_view tag = algo_tag(algo);
    const std::size_t digits = hex_digits(algo);
    if (!line.starts_with(tag) || line.substr(tag.size()).substr(0, 2) != " (" ||
        line.size() < tag.size() + 2 + 1 + 4 + digits) {
      continue;
    }
    const std::string_view tail = line.substr(line.size() - digits - 4, 4);
    if (tail != ") = ") {
      continue;
    }
    std::optional<Digest> digest = parse_digest_hex(algo, line.substr(line.size() - digits));
    if (!digest) {
      return std::nullopt;
    }
    const std::size_t name_at = tag.size() + 2;
    return ChecksumEntry{std::string(line.substr(name_at, line.size() - digits - 4 - name_at)), algo, *digest};
  }
  return std::nullopt;
}

std::optional<ChecksumEntry> parse_gnu(std::string_view line) {
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos || space + 2 >= line.size() ||
      (line[space + 1] != ' ' && line[space + 1] != '*')) {
    return std::nullopt;
  }
  const std::string_view hex = line.substr(0, space);
  for (HashAlgo algo : {HashAlgo::xxh128, HashAlgo::xxh64, HashAlgo::xxh32}) {
    if (hex.size() == hex_digits(algo)) {
      std::optional<Digest> digest = parse_digest_hex(algo, hex);
      if (!digest) {
        return std::nullopt;
      }
      return ChecksumEntry{std::string(line.substr(space + 2)), algo, *digest};
    }
  }
  return std::nullopt;
}

// A minimal reader of one flat JSON object (the records spindle writes): string members are
// decoded, including \udcXX for raw bytes; other values are skipped.
class JsonObjectReader {
 public:
  explicit JsonObjectReader(std::string_view text) : m_text(text) {}

  // Calls on_string(key, value) for each string member; false when the text is not one object.
  template <typename OnString>
  bool read(OnString on_string) {
    return read(on_string, [](const std::string&, std::string_view) {});
  }
  // The same, and on_scalar(key, text) for each number, true, false or null member.
  template <typename OnString, typename OnScalar>
  bool read(OnString on_string, OnScalar on_scalar) {
    skip_space();
    if (!take('{')) {
      return false;
    }
    skip_space();
    if (take('}')) {
      return at_end();
    }
    for (;;) {
      std::string key;
      skip_space();
      if (!string(key)) {
        return false;
      }
      skip_space();
      if (!take(':')) {
        return false;
      }
      skip_space();
      if (peek() == '"') {
        std::string value;
        if (!string(value)) {
          return false;
        }
        on_string(key, std::move(value));
      } else {
        const std::size_t start = m_at;
        if (!scalar()) {
          return false;
        }
        on_scalar(key, m_text.substr(start, m_at - start));
      }
      skip_space();
      if (take('}')) {
        return at_end();
      }
      if (!take(',')) {
        return false;
      }
    }
  }

 private:
  char peek() const { return m_at < m_text.size() ? m_text[m_at] : '\0'; }
  bool take(char c) {
    if (peek() == c && m_at < m_text.size()) {
      ++m_at;
      return true;
    }
    return false;
  }
  void skip_space() {
    while (m_at < m_text.size() && (m_text[m_at] == ' ' || m_text[m_at] == '\t' || m_text[m_at] == '\r')) {
      ++m_at;
    }
  }
  bool at_end() {
    skip_space();
    return m_at == m_text.size();
  }
  // A number, true, false or null: the characters that can make one.
  bool scalar() {
    const std::size_t start = m_at;
    while (m_at < m_text.size() &&
           std::string_view("+-.0123456789eEtruefalsn").find(m_text[m_at]) != std::string_view::npos) {
      ++m_at;
    }
    return m_at > start;
  }
  bool hex4(unsigned& value) {
    if (m_at + 4 > m_text.size()) {
      return false;
    }
    value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hex_digit_value(m_text[m_at++]);
      if (digit < 0) {
        return false;
      }
      value = value * 16 + static_cast<unsigned>(digit);
    }
    return true;
  }
  bool string(std::string& out) {
    if (!take('"')) {
      return false;
    }
    while (m_at < m_text.size()) {
      const char c = m_text[m_at++];
      if (c == '"') {
        return true;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (m_at >= m_text.size()) {
        return false;
      }
      const char e = m_text[m_at++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(cp)) {
            return false;
          }
          if (cp >= 0xdc80 && cp <= 0xdcff) {
            out += static_cast<char>(cp & 0xff);  // a raw byte that is not UTF-8 (group's JSON)
          } else if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned low = 0;
            if (!take('\\') || !take('u') || !hex4(low) || low < 0xdc00 || low > 0xdfff) {
              return false;
            }
            append_utf8(out, 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00));
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return false;
          } else {
            append_utf8(out, cp);
          }
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  std::string_view m_text;
  std::size_t m_at = 0;
};

}  // namespace

std::string digest_hex(HashAlgo algo, const Digest& digest) {
  if (algo == HashAlgo::xxh128) {
    return to_hex(digest);
  }
  const std::size_t digits = hex_digits(algo);
  std::string out(digits, '0');
  std::uint64_t value = digest.low;
  for (std::size_t i = digits; i-- > 0;) {
    out[i] = k_hex[value & 0xf];
    value >>= 4;
  }
  return out;
}

std::optional<Digest> parse_digest_hex(HashAlgo algo, std::string_view hex) {
  if (hex.size() != hex_digits(algo)) {
    return std::nullopt;
  }
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const int digit = hex_digit_value(hex[i]);
    if (digit < 0) {
      return std::nullopt;
    }
    std::uint64_t& word = hex.size() == 32 && i < 16 ? high : low;
    word = word << 4 | static_cast<std::uint64_t>(digit);
  }
  return Digest{high, low};
}

std::string_view algo_tag(HashAlgo algo) {
  switch (algo) {
    case HashAlgo::xxh128:
      return "XXH128";
    case HashAlgo::xxh3:
      return "XXH3";
    case HashAlgo::xxh64:
      return "XXH64";
    case HashAlgo::xxh32:
      return "XXH32";
  }
  return "XXH128";
}

void append_checksum_line(std::string& out, HashAlgo algo, const Digest& digest, std::string_view path,
                          LineStyle style) {
  const bool escaped = !style.zero && needs_escape(path);
  if (escaped) {
    out += '\\';
  }
  const auto append_path = [&] {
    if (escaped) {
      append_escaped(out, path);
    } else {
      out += path;
    }
  };
  if (style.tag || algo == HashAlgo::xxh3) {  // xxhsum 0.8.1 writes xxh3 only so (16 digits alone would read as xxh64)
    out += algo_tag(algo);
    out += " (";
    append_path();
    out += ") = ";
    out += digest_hex(algo, digest);
  } else {
    out += digest_hex(algo, digest);
    out += "  ";
    append_path();
  }
  out += style.zero ? '\0' : '\n';
}

std::optional<ChecksumEntry> parse_checksum_line(std::string_view line, bool zero) {
  bool escaped = false;
  if (!zero && line.starts_with('\\')) {
    escaped = true;
    line.remove_prefix(1);
  }
  std::optional<ChecksumEntry> entry = parse_bsd(line);
  if (!entry) {
    entry = parse_gnu(line);
  }
  if (!entry || entry->path.empty()) {
    return std::nullopt;
  }
  if (escaped) {
    std::optional<std::string> name = unescape(entry->path);
    if (!name) {
      return std::nullopt;
    }
    entry->path = std::move(*name);
  }
  return entry;
}

void append_json_record(std::string& out, const HashRecord& record) {
  out += "{\"path\":\"";
  append_json_escaped(out, record.path);
  out += "\",\"size\":";
  append_uint(out, record.size);
  out += ",\"mtime_ns\":";
  out += std::to_string(record.mtime_ns);
  out += ",\"ctime_ns\":";
  out += std::to_string(record.ctime_ns);
  out += ",\"device\":\"";
  append_uint(out, record.device_major);
  out += ':';
  append_uint(out, record.device_minor);
  out += "\",\"inode\":";
  append_uint(out, record.inode);
  out += ",\"host\":\"";
  append_json_escaped(out, record.host);
  out += "\",\"algo\":\"";
  out += algo_name(record.algo);
  out += "\",\"hash\":\"";
  out += digest_hex(record.algo, record.digest);
  out += "\"}\n";
}

std::optional<ChecksumEntry> parse_json_record(std::string_view line) {
  std::optional<std::string> path;
  std::optional<std::string> algo;
  std::optional<std::string> hash;
  JsonObjectReader reader(line);
  const bool ok = reader.read([&](const std::string& key, std::string value) {
    if (key == "path") {
      path = std::move(value);
    } else if (key == "algo") {
      algo = std::move(value);
    } else if (key == "hash") {
      hash = std::move(value);
    }
  });
  if (!ok || !path || path->empty() || !algo || !hash) {
    return std::nullopt;
  }
  std::optional<HashAlgo> parsed = parse_algo(*algo);
  if (!parsed) {
    return std::nullopt;
  }
  std::optional<Digest> digest = parse_digest_hex(*parsed, *hash);
  if (!digest) {
    return std::nullopt;
  }
  return ChecksumEntry{std::move(*path), *parsed, *digest};
}

namespace {

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  std::uint64_t value = 0;
  const std::from_chars_result end = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end.ec != std::errc() || end.ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> parse_signed(std::string_view text) {
  std::int64_t value = 0;
  const std::from_chars_result end = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end.ec != std::errc() || end.ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<CatalogLine> parse_catalog_line(std::string_view line, std::string& why) {
  std::optional<std::string> path, host, algo, hash, device;
  std::optional<std::string_view> size, inode, mtime, ctime;
  std::string bad;  // a member of the wrong JSON type
  JsonObjectReader reader(line);
  const bool ok = reader.read(
      [&](const std::string& key, std::string value) {
        if (key == "path") {
          path = std::move(value);
        } else if (key == "host") {
          host = std::move(value);
        } else if (key == "algo") {
          algo = std::move(value);
        } else if (key == "hash") {
          hash = std::move(value);
        } else if (key == "device") {
          device = std::move(value);
        } else if (key == "size" || key == "inode" || key == "mtime_ns" || key == "ctime_ns") {
          bad = key;
        }
      },
      [&](const std::string& key, std::string_view text) {
        if (key == "size") {
          size = text;
        } else if (key == "inode") {
          inode = text;
        } else if (key == "mtime_ns") {
          mtime = text;
        } else if (key == "ctime_ns") {
          ctime = text;
        } else if (key == "path" || key == "host" || key == "algo" || key == "hash" || key == "device") {
          bad = key;
        }
      });
  if (!ok) {
    why = "not one JSON object (a line of `spindle hash --format json`)";
    return std::nullopt;
  }
  if (!bad.empty()) {
    why = "member \"" + bad + "\" has the wrong type";
    return std::nullopt;
  }
  for (const auto& [name, present] : {std::pair<const char*, bool>{"path", path.has_value()},
                                      {"size", size.has_value()},
                                      {"device", device.has_value()},
                                      {"inode", inode.has_value()},
                                      {"host", host.has_value()},
                                      {"algo", algo.has_value()},
                                      {"hash", hash.has_value()}}) {
    if (!present) {
      why = std::string("no \"") + name + "\" member";
      return std::nullopt;
    }
  }
  CatalogLine out;
  if (path->empty() || path->find('\0') != std::string::npos) {
    why = path->empty() ? "an empty path" : "a path holding a NUL byte";
    return std::nullopt;
  }
  if (host->find('\0') != std::string::npos) {
    why = "a host holding a NUL byte";
    return std::nullopt;
  }
  const std::optional<std::uint64_t> size_value = parse_decimal(*size);
  const std::optional<std::uint64_t> inode_value = parse_decimal(*inode);
  if (!size_value || !inode_value) {
    why = std::string("\"") + (size_value ? "inode" : "size") + "\" is not a whole number";
    return std::nullopt;
  }
  const std::string::size_type colon = device->find(':');
  const std::optional<std::uint64_t> major_value =
      colon == std::string::npos ? std::nullopt : parse_decimal(std::string_view(*device).substr(0, colon));
  const std::optional<std::uint64_t> minor_value =
      colon == std::string::npos ? std::nullopt : parse_decimal(std::string_view(*device).substr(colon + 1));
  if (!major_value || !minor_value || *major_value > 0xfff || *minor_value > 0xfffff) {
    why = "\"device\" is not \"MAJOR:MINOR\"";
    return std::nullopt;
  }
  out.mtime_ns = mtime ? parse_signed(*mtime).value_or(0) : 0;
  out.ctime_ns = ctime ? parse_signed(*ctime).value_or(0) : 0;
  if ((mtime && !parse_signed(*mtime)) || (ctime && !parse_signed(*ctime))) {
    why = "\"mtime_ns\" or \"ctime_ns\" is not a whole number";
    return std::nullopt;
  }
  const std::optional<HashAlgo> parsed_algo = parse_algo(*algo);
  if (!parsed_algo) {
    why = "unknown \"algo\" (xxh128, xxh3, xxh64 or xxh32)";
    return std::nullopt;
  }
  const std::optional<Digest> digest = parse_digest_hex(*parsed_algo, *hash);
  if (!digest) {
    why = "\"hash\" is not a " + std::string(algo_name(*parsed_algo)) + " digest in hex";
    return std::nullopt;
  }
  out.path = std::move(*path);
  out.host = std::move(*host);
  out.size = *size_value;
  out.inode = *inode_value;
  out.device_major = static_cast<std::uint32_t>(*major_value);
  out.device_minor = static_cast<std::uint32_t>(*minor_value);
  out.algo = *parsed_algo;
  out.digest = *digest;
  return out;
}

}  // namespace spindle
