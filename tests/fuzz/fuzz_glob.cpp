// Fuzz the glob matching of --name and --exclude. The walk matches with fnmatch(glob, subject, 0)
// (src/core/walk.cpp, Walker::excluded and Walker::name_wanted): a base name, or the whole path
// when the glob holds '/'. The input is split at the first NUL into glob and subject, as the
// walk's C strings would be.
#include <fnmatch.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find('\0');
  const std::string glob = input.substr(0, split);
  const std::string subject = split == std::string::npos ? std::string() : input.substr(split + 1);
  const int result = fnmatch(glob.c_str(), subject.c_str(), 0);
  if (result != 0 && result != FNM_NOMATCH) {
    return 0;  // an error from fnmatch: the walk treats it as "no match"
  }
  // A glob without special characters matches exactly itself.
  if (glob.find_first_of("*?[\\") == std::string::npos && (result == 0) != (glob == subject.c_str())) {
    std::abort();
  }
  return 0;
}
