#pragma once

#include <spindle/error.hpp>

#include <utility>
#include <variant>

namespace spindle {

// An expected-like value: either a T or the FileError that prevented it (C++20 has no
// std::expected and Debian 12 packages no tl-expected).
template <typename T>
class Result {
 public:
  Result(T value) : m_value(std::in_place_index<0>, std::move(value)) {}          // NOLINT: implicit by design
  Result(FileError error) : m_value(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return m_value.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(m_value); }
  T&& value() && { return std::get<0>(std::move(m_value)); }
  const T& value() const& { return std::get<0>(m_value); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const FileError& error() const& { return std::get<1>(m_value); }
  FileError&& error() && { return std::get<1>(std::move(m_value)); }

 private:
  std::variant<T, FileError> m_value;
};

// Evaluate `expr` (a Result); on error return the error from the enclosing function, else bind
// the value to `var`.
#define SPINDLE_TRY_ASSIGN(var, expr)       \
  auto var##_result = (expr);               \
  if (!var##_result.ok()) {                 \
    return std::move(var##_result).error(); \
  }                                         \
  auto var = std::move(var##_result).value()

}  // namespace spindle
