/*
 * switchyard/codec.h: the codec plugin ABI (C99; depends on <stddef.h> and <stdint.h> only).
 *
 * A codec plugin is a shared object that exports one function, swy_codec_entry_v1(), returning a
 * descriptor: a table of metadata and function pointers. The daemon loads plugins with
 * dlopen(RTLD_NOW | RTLD_LOCAL), calls the entry once, checks the descriptor, then creates one
 * instance per `codec:` block of the configuration and calls decode/encode on it for every frame.
 *
 * Ownership labels used below (after Envoy's dynamic-modules abi.h):
 *   [host-owned]   memory allocated and freed by the daemon; the plugin may use it only for the
 *                  duration of the call and must keep no pointer to it afterwards.
 *   [plugin-owned] memory the plugin allocated (or static data in the plugin); it must stay valid
 *                  as long as stated, and the host never frees it.
 *
 * Versioning:
 *   - SWY_CODEC_ABI_MAJOR is part of the entry symbol's name. The host refuses a descriptor whose
 *     abi_major differs from its own, naming both versions.
 *   - SWY_CODEC_ABI_MINOR grows when fields are appended to swy_codec_descriptor. Fields are only
 *     ever appended (like SQLite's sqlite3_api_routines); existing fields never move or change
 *     meaning. struct_size tells the host how much of the table the plugin knows; a host reads
 *     appended fields only when struct_size covers them and treats missing ones as NULL/0.
 *   - The other structs (swy_codec_option, swy_codec_option_spec, swy_frame) are frozen for a
 *     major version; swy_codec_instance_info carries its own struct_size and grows by appending.
 *
 * Threading:
 *   - The entry function, create() and the reading of the descriptor happen on the daemon's
 *     control thread (startup, reload, --check-config).
 *   - decode(), encode() and instance_info() may run concurrently on several event-loop threads
 *     with the SAME instance. An instance must therefore be immutable after create() returns
 *     (or synchronise internally, which costs every frame: do not).
 *   - destroy() runs once per instance, after every other call on that instance has returned,
 *     on the thread that released the last reference (normally the control thread).
 *
 * Errors: every function that can fail takes `char* err, size_t err_cap`, a [host-owned] buffer.
 * On failure the plugin writes a NUL-terminated, one-line message into it (truncated to fit).
 * err may be NULL when err_cap is 0; write nothing then. No heap string crosses the boundary and
 * no C++ exception may escape a plugin function (switchyard/codec.hpp wraps this for C++).
 */
#ifndef SWITCHYARD_CODEC_H
#define SWITCHYARD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define SWY_CODEC_ABI_MAJOR 1
#define SWY_CODEC_ABI_MINOR 1

/* The exported entry symbol; the major version is part of its name, so a plugin built for another
 * major does not even resolve. */
#define SWY_CODEC_ENTRY_SYMBOL "swy_codec_entry_v1"

#if defined(__GNUC__) || defined(__clang__)
#define SWY_CODEC_EXPORT __attribute__((visibility("default")))
#else
#define SWY_CODEC_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Results ---------------------------------------------------------------------------------- */

typedef int32_t swy_decode_status;
/* NEED_MORE: no complete frame yet; call again with the same bytes plus more.
 * FRAME:     a frame was found; *out says where (see swy_frame).
 * MALFORMED: the stream cannot be framed (bad length field, ...); the connection is closed.
 * TOO_LARGE: the frame being received exceeds the configured limit; the connection is closed. */
#define SWY_DECODE_NEED_MORE ((swy_decode_status)0)
#define SWY_DECODE_FRAME ((swy_decode_status)1)
#define SWY_DECODE_MALFORMED ((swy_decode_status)2)
#define SWY_DECODE_TOO_LARGE ((swy_decode_status)3)

typedef int32_t swy_encode_status;
#define SWY_ENCODE_OK ((swy_encode_status)0)
#define SWY_ENCODE_FAILED ((swy_encode_status)1)

/* Capability flags (descriptor.capabilities, swy_codec_instance_info.capabilities). */
#define SWY_CODEC_CAP_DECODE ((uint32_t)1u << 0) /* decode() finds frames (every codec must) */
#define SWY_CODEC_CAP_ENCODE ((uint32_t)1u << 1) /* encode() writes header/trailer */

/* ---- Plain data --------------------------------------------------------------------------------- */

/* One `key: value` line of the codec's YAML block (everything but `plugin`), in YAML order.
 * key and value are [host-owned], NUL-terminated, valid only during create(). */
typedef struct swy_codec_option {
    const char* key;
    const char* value;
} swy_codec_option;

/* Describes one option the plugin accepts. All strings are [plugin-owned] static data that must
 * stay valid while the library is loaded. The host uses the list to reject unknown options with a
 * did-you-mean suggestion before create() is called, and to print help. */
typedef struct swy_codec_option_spec {
    const char* name;          /* e.g. "max_frame" */
    const char* help;          /* one line, e.g. "largest frame accepted, e.g. 64KiB" */
    const char* default_value; /* printable default, or NULL when the option is required */
} swy_codec_option_spec;

/* Where a decoded frame lies, relative to the `data` pointer passed to decode():
 *   consumed        bytes the frame occupies in the stream (1..len); the host drops them.
 *   payload_offset  first payload byte (after a header the codec strips).
 *   payload_length  payload bytes; payload_offset + payload_length <= consumed.
 * [host-owned]; written by decode() only when it returns SWY_DECODE_FRAME. */
typedef struct swy_frame {
    size_t consumed;
    size_t payload_offset;
    size_t payload_length;
} swy_frame;

/* What one configured instance can do, when that depends on its options (e.g. a length-field
 * layout that encode cannot reproduce). [host-owned]; the host fills every field with the
 * descriptor's values and struct_size with sizeof(swy_codec_instance_info) before the call; the
 * plugin overwrites only fields that lie within struct_size. */
typedef struct swy_codec_instance_info {
    uint32_t struct_size;
    uint32_t capabilities; /* subset of the descriptor's capabilities */
    uint32_t max_header;   /* <= descriptor.max_header */
    uint32_t max_trailer;  /* <= descriptor.max_trailer */
} swy_codec_instance_info;

/* An instance: whatever the plugin allocated in create(). Opaque to the host. [plugin-owned],
 * freed by destroy(). */
typedef struct swy_codec_instance swy_codec_instance;

/* ---- Functions ---------------------------------------------------------------------------------- */

/* Creates an instance from the options. Returns NULL and writes a message into err when an option
 * is missing or invalid; start the message with "<key>: " so the host can point at that option's
 * line in the YAML (e.g. "max_frame: unknown unit 'k' in size '64k' (...)"). C++ plugins read sizes
 * and durations as the daemon does with switchyard/units.hpp.
 * Control thread. */
typedef swy_codec_instance* (*swy_codec_create_fn)(const swy_codec_option* options,
                                                   size_t option_count, char* err, size_t err_cap);

/* Frees an instance. Called once, after every other call on the instance has returned. */
typedef void (*swy_codec_destroy_fn)(swy_codec_instance* instance);

/* Looks for one frame at the start of data[0..len).
 *   data          [host-owned] bytes received and not yet consumed, oldest first. Never keep a
 *                 pointer to it: between calls the host may move the bytes (it keeps their order
 *                 and appends new ones after them).
 *   stream_state  [host-owned] one scratch word per stream direction. It is 0 at stream start and
 *                 the host resets it to 0 after every SWY_DECODE_FRAME; after SWY_DECODE_NEED_MORE
 *                 the host passes back whatever the plugin left there, with the same bytes at the
 *                 front of data. Scanning codecs store how far they searched, so a frame that
 *                 arrives one byte at a time costs O(n), not O(n^2).
 *   out           [host-owned] set on SWY_DECODE_FRAME.
 * Must not allocate, block, or keep state outside *stream_state. Any thread, concurrently. */
typedef swy_decode_status (*swy_codec_decode_fn)(const swy_codec_instance* instance,
                                                 const uint8_t* data, size_t len,
                                                 uint64_t* stream_state, swy_frame* out,
                                                 char* err, size_t err_cap);

/* Writes the bytes that go before (header) and after (trailer) a payload of payload_len bytes.
 * The payload itself is [host-owned] and never passed: the host sends header, payload and trailer
 * with one scatter/gather write, so no codec copies a payload. header/trailer are [host-owned]
 * buffers of header_cap/trailer_cap bytes (at least the instance's max_header/max_trailer);
 * *header_len and *trailer_len receive the byte counts written. Returns SWY_ENCODE_FAILED with a
 * message when this payload cannot be encoded (e.g. longer than the length field can express).
 * Must not allocate. Any thread, concurrently. NULL when SWY_CODEC_CAP_ENCODE is not set. */
typedef swy_encode_status (*swy_codec_encode_fn)(const swy_codec_instance* instance,
                                                 size_t payload_len, uint8_t* header,
                                                 size_t header_cap, size_t* header_len,
                                                 uint8_t* trailer, size_t trailer_cap,
                                                 size_t* trailer_len, char* err, size_t err_cap);

/* Optional (may be NULL): narrows capabilities/limits for one instance. Any thread. */
typedef void (*swy_codec_instance_info_fn)(const swy_codec_instance* instance,
                                           swy_codec_instance_info* info);

/* ---- The descriptor ----------------------------------------------------------------------------- */

/* [plugin-owned], usually a static const object; it and every string and array it points to must
 * stay valid and unchanged while the library is loaded. APPEND-ONLY: new fields go at the end. */
typedef struct swy_codec_descriptor {
    uint32_t struct_size;  /* sizeof(swy_codec_descriptor) as the plugin was compiled; FIRST */
    uint32_t abi_major;    /* SWY_CODEC_ABI_MAJOR */
    uint32_t abi_minor;    /* SWY_CODEC_ABI_MINOR */
    uint32_t capabilities; /* SWY_CODEC_CAP_* */
    const char* name;        /* codec name for logs and metric labels, e.g. "line" */
    const char* version;     /* plugin version, e.g. "1.2.0" */
    const char* description; /* one line */
    const swy_codec_option_spec* options; /* every option create() accepts; may be NULL if none */
    size_t option_count;
    uint32_t max_header;  /* largest header encode() writes for any instance */
    uint32_t max_trailer; /* largest trailer encode() writes for any instance */
    swy_codec_create_fn create;                /* required */
    swy_codec_destroy_fn destroy;              /* required */
    swy_codec_decode_fn decode;                /* required */
    swy_codec_encode_fn encode;                /* required with SWY_CODEC_CAP_ENCODE, else NULL */
    swy_codec_instance_info_fn instance_info;  /* optional */
    /* ---- ABI 1.1 ---- */
    /* Optional (NULL when the plugin was built against 1.0 or does not frame datagrams' ends):
     * the end of a bounded input. A datagram is decoded frame by frame with decode(); when bytes
     * are left for which decode() answered SWY_DECODE_NEED_MORE, no more will ever come, and the
     * host calls decode_end() with them (len >= 1, *stream_state as decode() left it). Return
     * SWY_DECODE_FRAME when they are a last frame without its terminator (a last statsd or
     * syslog line without '\n': out->consumed must be len), SWY_DECODE_MALFORMED when a
     * datagram cannot end there (a length-field frame cut short), or SWY_DECODE_TOO_LARGE.
     * NULL means such bytes are malformed. Same rules as decode(): no allocation, any thread. */
    swy_codec_decode_fn decode_end;
    /* ABI 1.2 and later: append new fields here, never anywhere else. */
} swy_codec_descriptor;

/* The one exported function (define it with SWY_CODEC_EXPORT). Returns the descriptor; called
 * once per load, on the control thread. */
typedef const swy_codec_descriptor* (*swy_codec_entry_fn)(void);
SWY_CODEC_EXPORT const swy_codec_descriptor* swy_codec_entry_v1(void);

/* Copies a NUL-terminated message into a host error buffer, truncating to fit. */
static inline void swy_codec_set_error(char* err, size_t err_cap, const char* message) {
    size_t i = 0;
    if (err == NULL || err_cap == 0) return;
    if (message != NULL) {
        for (; i + 1 < err_cap && message[i] != '\0'; ++i) err[i] = message[i];
    }
    err[i] = '\0';
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SWITCHYARD_CODEC_H */
