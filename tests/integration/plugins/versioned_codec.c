/* Test plugin for codec upgrade on reload (tests/integration/test_reload.py): one source built
 * twice, as versioned_v1.so (frames end at '\n') and versioned_v2.so (frames end at ';'), so a
 * client can tell by the echo which build its connection runs. Plain C99 against the SDK. */
#include "switchyard/codec.h"

#ifndef VERSIONED_DELIMITER
#error "build with -DVERSIONED_DELIMITER=<character code> and -DVERSIONED_VERSION=<string>"
#endif

static int instance_storage;

static swy_codec_instance* versioned_create(const swy_codec_option* options, size_t count, char* err,
                                            size_t err_cap) {
    (void)options;
    (void)count;
    (void)err;
    (void)err_cap;
    return (swy_codec_instance*)&instance_storage;
}

static void versioned_destroy(swy_codec_instance* instance) { (void)instance; }

static swy_decode_status versioned_decode(const swy_codec_instance* instance, const uint8_t* data, size_t len,
                                          uint64_t* state, swy_frame* out, char* err, size_t err_cap) {
    size_t i;
    (void)instance;
    (void)err;
    (void)err_cap;
    for (i = *state; i < len; ++i) {
        if (data[i] == (uint8_t)VERSIONED_DELIMITER) {
            *state = 0;
            out->consumed = i + 1;
            out->payload_offset = 0;
            out->payload_length = i;
            return SWY_DECODE_FRAME;
        }
    }
    *state = len;  /* resume the scan where it stopped */
    return SWY_DECODE_NEED_MORE;
}

static const swy_codec_descriptor descriptor = {
    sizeof(swy_codec_descriptor), SWY_CODEC_ABI_MAJOR, SWY_CODEC_ABI_MINOR, SWY_CODEC_CAP_DECODE,
    "versioned", VERSIONED_VERSION, "test plugin: frames end at a delimiter fixed at build time", NULL, 0, 0, 0,
    versioned_create, versioned_destroy, versioned_decode, NULL, NULL};

SWY_CODEC_EXPORT const swy_codec_descriptor* swy_codec_entry_v1(void) { return &descriptor; }
