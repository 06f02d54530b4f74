// The library versions spindle_core was compiled against (see build_info.hpp).
#include <spindle/build_info.hpp>

#include <xxhash.h>

#include <sqlite3.h>
#include <string>

#ifndef SPINDLE_LIBUDEV_VERSION
#error "SPINDLE_LIBUDEV_VERSION must come from pkg-config (src/CMakeLists.txt)"
#endif

namespace spindle {

namespace {

std::string xxhash_version() {
  return std::to_string(XXH_VERSION_MAJOR) + "." + std::to_string(XXH_VERSION_MINOR) + "." +
         std::to_string(XXH_VERSION_RELEASE);
}

// _OPENMP is the yyyymm date of the specification the compiler implements; the name users know
// is the version number, so both are given.
Component openmp_component() {
#ifdef _OPENMP
  const long date = _OPENMP;
  struct Known {
    long date;
    const char* version;
  };
  static constexpr Known k_known[] = {{200505, "2.5"}, {200805, "3.0"}, {201107, "3.1"},
                                      {201307, "4.0"}, {201511, "4.5"}, {201811, "5.0"},
                                      {202011, "5.1"}, {202111, "5.2"}, {202411, "6.0"}};
  std::string version = "(unknown version)";
  for (const Known& known : k_known) {
    if (known.date == date) {
      version = known.version;
    }
  }
  return {"OpenMP", version, "_OPENMP " + std::to_string(date)};
#else
  return {"OpenMP", "disabled", ""};
#endif
}

}  // namespace

std::vector<Component> build_components() {
  std::vector<Component> components;
  components.push_back({"xxHash", xxhash_version(), "inlined"});
  components.push_back({"libudev", SPINDLE_LIBUDEV_VERSION, ""});
  // Built against SQLITE_VERSION; the shared library loaded now may be newer.
  const std::string loaded = sqlite3_libversion();
  components.push_back({"SQLite", SQLITE_VERSION, loaded == SQLITE_VERSION ? "" : "running " + loaded});
  components.push_back(openmp_component());
  return components;
}

}  // namespace spindle
