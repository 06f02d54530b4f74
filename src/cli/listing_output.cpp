#include "listing_output.hpp"

#include <spindle/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <streambuf>

namespace spindle::cli {

namespace {

// Thrown out of OutputFile::commit's fill to leave FILE as it was (an interrupted run).
struct Interrupted {};

}  // namespace

bool LineWriter::line_done() {
  if (m_per_line || m_text.size() >= k_chunk) {
    flush();
  }
  return m_out.good();
}

void LineWriter::flush() {
  m_out.write(m_text.data(), static_cast<std::streamsize>(m_text.size()));
  m_text.clear();
  if (m_per_line) {
    m_out.flush();
  }
}

bool write_listing(OutputFile& output, const std::function<bool(std::ostream&)>& fill) {
  if (output.kind() != OutputKind::in_place) {
    try {
      return output.commit([&](std::ostream& out) {
        if (!fill(out)) {
          throw Interrupted{};
        }
      });
    } catch (const Interrupted&) {
      return false;
    }
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> spool(std::tmpfile(), &std::fclose);
  if (!spool) {
    throw Fatal(std::string("cannot create a temporary file for the listing: ") + std::strerror(errno) +
                " (it is spooled there until complete; /tmp must be writable and have room)");
  }
  struct FileBuf : std::streambuf {
    explicit FileBuf(std::FILE* f) : file(f) {}
    std::streamsize xsputn(const char* s, std::streamsize n) override {
      return static_cast<std::streamsize>(std::fwrite(s, 1, static_cast<std::size_t>(n), file));
    }
    int_type overflow(int_type c) override {
      return c == traits_type::eof() || std::fputc(c, file) != EOF ? traits_type::not_eof(c) : traits_type::eof();
    }
    std::FILE* file;
  } buffer(spool.get());
  std::ostream spooled(&buffer);
  if (!fill(spooled)) {
    return false;
  }
  if (std::fflush(spool.get()) != 0 || std::ferror(spool.get())) {
    throw Fatal(std::string("cannot write the listing to a temporary file: ") + std::strerror(errno) +
                " (is /tmp full?)");
  }
  std::rewind(spool.get());
  return output.commit([&](std::ostream& out) {
    char block[64 * 1024];
    for (std::size_t got; (got = std::fread(block, 1, sizeof block, spool.get())) > 0;) {
      out.write(block, static_cast<std::streamsize>(got));
    }
  });
}

}  // namespace spindle::cli
