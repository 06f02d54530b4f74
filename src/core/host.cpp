#include <spindle/host.hpp>

#include <climits>

#include <unistd.h>

namespace spindle {

std::string local_host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) {
    return "";
  }
  return name;
}

std::string other_host_refusal(std::string_view host) {
  // The path of another host's file may name an unrelated local file: acting on it could remove
  // the only copy of something else. Nothing is touched.
  return "a report naming files of another host ('" + std::string(host) +
         "', from spindle group --catalog): actions act only on this host's files; run the action on that "
         "host with a report made there";
}

}  // namespace spindle
