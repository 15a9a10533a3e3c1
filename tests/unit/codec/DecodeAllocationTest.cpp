// The zero-allocation-per-frame guarantee: decoding and encoding frames through Codec (host and
// plugin together) performs no heap allocation. Every malloc in this test binary is counted: in
// plain builds by interposing malloc/calloc/realloc themselves (which also catches C plugins and
// operator new), under sanitizers (which own malloc) through the sanitizer allocator's hooks.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include <catch2/catch.hpp>

#include "tests/unit/codec/CodecTestSupport.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define SWITCHYARD_SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWITCHYARD_SANITIZED_BUILD 1
#endif
#endif

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

#ifndef SWITCHYARD_SANITIZED_BUILD
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_realloc(p, size);
}
void free(void* p) { __libc_free(p); }
}
#else
// From <sanitizer/allocator_interface.h>, declared here because GCC does not ship that header.
extern "C" int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void*, std::size_t), void (*free_hook)(const volatile void*));
namespace {
void count_malloc(const volatile void*, std::size_t) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
}
void ignore_free(const volatile void*) {}
// The sanitizer allocator calls these hooks for every allocation in the process.
[[maybe_unused]] const int g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(count_malloc, ignore_free);
}  // namespace
#endif

using namespace switchyard;
using namespace switchyard::testing;

namespace {

long allocations() { return g_allocations.load(std::memory_order_relaxed); }

// Decodes `stream` (many frames, fed in `chunk`-byte steps into a preallocated buffer) and
// re-encodes every frame, returning the number of frames.
std::size_t frame_through(const Codec& codec, const std::string& stream, std::size_t chunk,
                          std::string& buffer) {
    std::size_t frames = 0;
    std::size_t start = 0;  // first unconsumed byte in buffer
    std::size_t end = 0;
    std::uint64_t state = 0;
    char reason[128];
    std::uint8_t header[1024], trailer[64];
    std::size_t header_len = 0, trailer_len = 0;
    for (std::size_t fed = 0; fed < stream.size();) {
        const std::size_t n = std::min(chunk, stream.size() - fed);
        stream.copy(buffer.data() + end, n, fed);  // no allocation: buffer is big enough
        end += n;
        fed += n;
        for (;;) {
            const DecodedFrame f =
                codec.decode(reinterpret_cast<const std::uint8_t*>(buffer.data()) + start,
                             end - start, &state, reason, sizeof reason);
            if (f.status != DecodeStatus::frame) break;
            if (!codec.encode(f.payload_length, header, &header_len, trailer, &trailer_len, reason,
                              sizeof reason))
                return 0;
            start += f.consumed;
            ++frames;
        }
    }
    return frames;
}

}  // namespace

TEST_CASE("decode and encode allocate nothing per frame", "[codec][alloc]") {
    struct Case {
        const char* plugin;
        OptionList options;
        std::string frame;
    };
    const std::vector<Case> cases{
        {"line", {{"strip_cr", "true"}}, "GET /index.html\r\n"},
        {"delimiter", {{"delimiter", "\\r\\n\\r\\n"}}, "header: value\r\n\r\n"},
        {"length-field", {{"length_field_length", "2"}}, std::string("\x00\x05hello", 7)},
        {"fixed-length", {{"frame_length", "16"}}, "0123456789abcdef"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.plugin);
        auto codec = require_codec(c.plugin, c.options);
        std::string stream;
        for (int i = 0; i < 500; ++i) stream += c.frame;
        std::string buffer(stream.size(), '\0');
        for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, stream.size()}) {
            CAPTURE(chunk);
            const long before = allocations();
            const std::size_t frames = frame_through(*codec, stream, chunk, buffer);
            const long during = allocations() - before;
            CHECK(frames == 500);
            CHECK(during == 0);
        }
    }
}

TEST_CASE("the allocation counter sees allocations (the test can fail)", "[codec][alloc]") {
    static std::string* volatile sink;  // volatile: the compiler may not elide the allocation
    const long before = allocations();
    sink = new std::string(1000, 'x');
    const long during = allocations() - before;
    delete sink;
    CHECK(during >= 1);
}
