#include "output.hpp"

#include <spindle/error.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

namespace spindle::cli {

void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& fill) {
  if (path.empty() || path == "-") {
    std::ios::sync_with_stdio(false);
    fill(std::cout);
    std::cout.flush();
    if (!std::cout) {
      throw Fatal("cannot write the report to stdout");
    }
    return;
  }
  std::string temp = path + ".spindle-tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw Fatal("cannot create " + temp + ": " + std::strerror(errno));
    }
    fill(out);
    out.flush();
    if (!out) {
      int saved = errno;
      ::unlink(temp.c_str());
      throw Fatal("cannot write " + temp + ": " + std::strerror(saved));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    throw Fatal("cannot rename " + temp + " to " + path + ": " + std::strerror(saved));
  }
}

LogLevel log_level_for(int verbosity) {
  if (verbosity < 0) {
    return LogLevel::error;
  }
  if (verbosity == 0) {
    return LogLevel::warning;
  }
  return verbosity == 1 ? LogLevel::info : LogLevel::debug;
}

}  // namespace spindle::cli
