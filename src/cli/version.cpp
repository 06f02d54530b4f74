#include "version.hpp"

#include <spindle/build_info.hpp>

#include <CLI/Version.hpp>

#include <vector>

namespace spindle::cli {

std::string version_text() {
  std::vector<Component> components = build_components();
  // CLI11 is the command line's own; it goes after xxHash, in the order the users read.
  components.insert(components.begin() + 1, Component{"CLI11", CLI11_VERSION, ""});
  std::string text = "spindle " SPINDLE_VERSION;
  for (const Component& component : components) {
    text += "\n" + component.name + " " + component.version;
    if (!component.detail.empty()) {
      text += " (" + component.detail + ")";
    }
  }
  return text;
}

}  // namespace spindle::cli
