/* A small XML reader for S3's responses (ListObjectsV2, errors, multipart
 * uploads): flat, attribute-free elements found by name, with entity
 * decoding. Internal to src/net/; fuzzed by tests/fuzz/fuzz_s3xml.c since
 * it reads what a server sends. */
#ifndef SLUICE_NET_XML_H
#define SLUICE_NET_XML_H

#include "sluice/buf.h"

/* Finds the next element <name ...>content</name> (or <name/>) in
 * [p, end). Returns the position after it and sets the raw content, or
 * NULL when absent. */
const char *sl_xml_find(const char *p, const char *end, const char *name, const char **content,
                        size_t *clen);
/* Appends the text of an element with entities decoded (the five named
 * ones and &#N; / &#xH;); an unknown or malformed entity is kept as is. */
int sl_xml_text(sl_buf_t *out, const char *p, size_t n);
/* The decoded text of the first <name> in [p, end) into out (cleared
 * first). Returns false when absent. */
bool sl_xml_get(const char *p, const char *end, const char *name, sl_buf_t *out);

#endif
