#pragma once

// UTF-8 well-formedness, shared by the JSON writer (which must tell text from raw bytes) and
// escape_for_terminal (which must not let a stray byte reach a terminal). Private to spindle_core.

#include <cstddef>
#include <string>
#include <string_view>

namespace spindle {

// Length of the well-formed UTF-8 sequence starting at text[at], or 0 if there is none.
// Follows Unicode Table 3-7 exactly: no overlong forms (C0, C1, E0 80..9F, F0 80..8F), no
// surrogates (ED A0..BF), nothing above U+10FFFF (F4 90.., F5..FF), no truncated sequences.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at);

// Appends code point `cp` (at most U+10FFFF) as UTF-8: for the JSON readers' \u escapes.
void append_utf8(std::string& out, unsigned cp);

// The value of a hex digit (either case), or -1.
int hex_digit_value(char c);

}  // namespace spindle
