// `spindle group --mpi` in the plain spindle: libmpi is not linked into it (loading it would cost
// every run start-up time, README "Scale-out with MPI"), so the process becomes spindle-mpi, the
// same command line with MPI built in, installed next to it. Built without MPI: say how to get it.
#include "exit_code.hpp"
#include "group_mpi.hpp"
#include "output.hpp"

#include <spindle/small_file.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace spindle::cli {

#ifdef SPINDLE_MPI_EXECUTABLE
namespace {

// This process's own arguments, as the kernel holds them (NUL-separated).
std::vector<std::string> own_arguments() {
  std::vector<std::string> args;
  Result<std::string> read = read_small_file("/proc/self/cmdline", std::size_t{64} << 20);
  const std::string cmdline = read ? std::move(read).value() : std::string();
  for (std::size_t at = 0; at < cmdline.size();) {
    const std::size_t end = cmdline.find('\0', at);
    args.push_back(cmdline.substr(at, end == std::string::npos ? std::string::npos : end - at));
    at = end == std::string::npos ? cmdline.size() : end + 1;
  }
  return args;
}

}  // namespace
#endif

int run_group_mpi(Context& context, const PathListOptions& /*list*/, const InputFilterOptions& /*filter*/,
                  bool /*zero*/) {
  Logger log = make_logger(context.config);
#ifdef SPINDLE_MPI_EXECUTABLE
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string target = length > 0 ? std::string(self, static_cast<std::size_t>(length)) : std::string();
  target = target.substr(0, target.rfind('/') + 1) + SPINDLE_MPI_EXECUTABLE;
  std::vector<std::string> args = own_arguments();
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  ::execv(target.c_str(), argv.data());  // returns only on failure
  log.error("--mpi: cannot run " + escape_for_terminal(target) + ": " + std::strerror(errno) +
            " (spindle-mpi is installed next to spindle by a build with MPI; reinstall it)");
  return k_exit_usage;
#else
  log.error(
      "--mpi: this spindle was built without MPI; install OpenMPI (Debian: libopenmpi-dev openmpi-bin, or "
      "packaging/install-deps.sh) and build with cmake -DSPINDLE_MPI=ON");
  return k_exit_usage;
#endif
}

}  // namespace spindle::cli
