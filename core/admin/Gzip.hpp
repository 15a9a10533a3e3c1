#pragma once
// gzip content coding for the admin endpoint's responses (RFC 9110 §8.4.1.3, RFC 1952), with
// zlib doing the compression. Pure functions, any thread.
#include <string>
#include <string_view>

namespace switchyard::admin {

// True when an Accept-Encoding header value accepts gzip: a `gzip` or `x-gzip` coding whose
// q-value is not 0 (RFC 9110 §12.5.3). Case-insensitive; an empty header accepts nothing.
bool accepts_gzip(std::string_view accept_encoding);

// `data` as one gzip member (default compression level). Throws std::runtime_error if zlib fails
// (only on out-of-memory).
std::string gzip_compress(std::string_view data);

}  // namespace switchyard::admin
