/* Fuzz target: the XML reader for S3 responses (src/net/xml.c) on what a
 * server could send: every element the S3 driver reads, the Contents loop
 * of ListObjectsV2, and entity decoding. Must never read out of bounds,
 * and a found element's content must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/net/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan catches any read past it. */
    char *p = malloc(size ? size : 1);
    if (!p) {
        return 0;
    }
    memcpy(p, data, size);
    const char *end = p + size;
    static const char *const names[] = {"Code", "Message", "UploadId", "IsTruncated",
                                        "NextContinuationToken", "ListBucketResult", "Error",
                                        "Key", "ETag"};
    sl_buf_t out = SL_BUF_INIT;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        sl_xml_get(p, end, names[i], &out);
    }
    const char *at = p, *c;
    size_t cn;
    while ((at = sl_xml_find(at, end, "Contents", &c, &cn)) != NULL) {
        if (c < p || c + cn > end || at > end) {
            abort();
        }
        const char *ce = c + cn;
        sl_xml_get(c, ce, "Key", &out);
        sl_xml_get(c, ce, "Size", &out);
        sl_xml_get(c, ce, "LastModified", &out);
    }
    sl_buf_clear(&out);
    sl_xml_text(&out, p, size);
    sl_buf_free(&out);
    free(p);
    return 0;
}
