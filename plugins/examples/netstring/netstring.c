/* netstring: an example codec plugin in plain C99, built out of tree against the installed
 * Switchyard SDK (see CMakeLists.txt next to this file).
 *
 * Frames are netstrings (https://cr.yp.to/proto/netstrings.txt): "<length>:<payload>," with the
 * length in decimal ASCII, e.g. "5:hello,". The payload is what lies between ':' and ','.
 * Option: max_frame (bytes, default 65536) bounds the payload length. */
#include <stdlib.h>

#include "switchyard/codec.h"

/* Immutable after create, so every loop thread may decode with it at once. */
typedef struct netstring_codec {
    size_t max_frame;
} netstring_codec;

/* "1:x," has at least one digit; 20 digits hold any size_t. */
#define NETSTRING_MAX_DIGITS 20

static int parse_max_frame(const char* text, size_t* out) {
    size_t value = 0;
    if (*text == '\0') return 0;
    for (; *text != '\0'; ++text) {
        if (*text < '0' || *text > '9') return 0;
        if (value > ((size_t)-1 - 9) / 10) return 0;
        value = value * 10 + (size_t)(*text - '0');
    }
    if (value == 0) return 0;
    *out = value;
    return 1;
}

static int is_key(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return *a == *b;
}

static swy_codec_instance* netstring_create(const swy_codec_option* options, size_t count,
                                            char* err, size_t err_cap) {
    size_t max_frame = 65536;
    size_t i;
    netstring_codec* codec;
    for (i = 0; i < count; ++i) {
        if (!is_key(options[i].key, "max_frame")) {
            swy_codec_set_error(err, err_cap, "unknown option"); /* the host checks this first */
            return NULL;
        }
        if (!parse_max_frame(options[i].value, &max_frame)) {
            swy_codec_set_error(err, err_cap, "max_frame: must be a positive number of bytes");
            return NULL;
        }
    }
    codec = (netstring_codec*)malloc(sizeof *codec);
    if (codec == NULL) {
        swy_codec_set_error(err, err_cap, "out of memory");
        return NULL;
    }
    codec->max_frame = max_frame;
    return (swy_codec_instance*)codec;
}

static void netstring_destroy(swy_codec_instance* instance) { free(instance); }

static swy_decode_status netstring_decode(const swy_codec_instance* instance, const uint8_t* data,
                                          size_t len, uint64_t* stream_state, swy_frame* out,
                                          char* err, size_t err_cap) {
    const netstring_codec* codec = (const netstring_codec*)instance;
    size_t digits = 0;
    size_t length = 0;
    size_t total;
    (void)stream_state; /* the header is short: rescanning it costs nothing */
    while (digits < len && data[digits] >= '0' && data[digits] <= '9') {
        if (length > ((size_t)-1 - 9) / 10 || digits == NETSTRING_MAX_DIGITS) {
            swy_codec_set_error(err, err_cap, "netstring length exceeds max_frame");
            return SWY_DECODE_TOO_LARGE;
        }
        length = length * 10 + (size_t)(data[digits] - '0');
        ++digits;
        if (length > codec->max_frame) {
            swy_codec_set_error(err, err_cap, "netstring length exceeds max_frame");
            return SWY_DECODE_TOO_LARGE;
        }
    }
    if (digits == len) return SWY_DECODE_NEED_MORE;
    if (digits == 0 || data[digits] != ':' || (digits > 1 && data[0] == '0')) {
        swy_codec_set_error(err, err_cap, "netstring must start with <decimal length>:");
        return SWY_DECODE_MALFORMED;
    }
    total = digits + 1 + length + 1;
    if (len < total) return SWY_DECODE_NEED_MORE;
    if (data[total - 1] != ',') {
        swy_codec_set_error(err, err_cap, "netstring payload not followed by ','");
        return SWY_DECODE_MALFORMED;
    }
    out->consumed = total;
    out->payload_offset = digits + 1;
    out->payload_length = length;
    return SWY_DECODE_FRAME;
}

static swy_encode_status netstring_encode(const swy_codec_instance* instance, size_t payload_len,
                                          uint8_t* header, size_t header_cap, size_t* header_len,
                                          uint8_t* trailer, size_t trailer_cap,
                                          size_t* trailer_len, char* err, size_t err_cap) {
    const netstring_codec* codec = (const netstring_codec*)instance;
    uint8_t digits[NETSTRING_MAX_DIGITS];
    size_t n = 0;
    size_t i;
    if (payload_len > codec->max_frame) {
        swy_codec_set_error(err, err_cap, "payload exceeds max_frame");
        return SWY_ENCODE_FAILED;
    }
    do {
        digits[n++] = (uint8_t)('0' + payload_len % 10);
        payload_len /= 10;
    } while (payload_len > 0);
    if (header_cap < n + 1 || trailer_cap < 1) {
        swy_codec_set_error(err, err_cap, "buffers smaller than max_header/max_trailer");
        return SWY_ENCODE_FAILED;
    }
    for (i = 0; i < n; ++i) header[i] = digits[n - 1 - i];
    header[n] = ':';
    *header_len = n + 1;
    trailer[0] = ',';
    *trailer_len = 1;
    return SWY_ENCODE_OK;
}

static const swy_codec_option_spec netstring_options[] = {
    {"max_frame", "largest payload accepted, in bytes", "65536"},
};

static const swy_codec_descriptor netstring_descriptor = {
    sizeof(swy_codec_descriptor),
    SWY_CODEC_ABI_MAJOR,
    SWY_CODEC_ABI_MINOR,
    SWY_CODEC_CAP_DECODE | SWY_CODEC_CAP_ENCODE,
    "netstring",
    "1.0.0",
    "netstrings: <length>:<payload>,",
    netstring_options,
    sizeof netstring_options / sizeof netstring_options[0],
    NETSTRING_MAX_DIGITS + 1, /* max_header: digits and ':' */
    1,                        /* max_trailer: ',' */
    netstring_create,
    netstring_destroy,
    netstring_decode,
    netstring_encode,
    NULL, /* instance_info: every instance has the descriptor's limits */
    NULL, /* decode_end (ABI 1.1): a datagram must hold whole netstrings */
};

SWY_CODEC_EXPORT const swy_codec_descriptor* swy_codec_entry_v1(void) {
    return &netstring_descriptor;
}
