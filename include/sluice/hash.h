/* Hashes and identifiers: MD5 hex (record hashes, the md5 filter), fast
 * content hashes for change detection (XXH3-128), and random UUIDv4. */
#ifndef SLUICE_HASH_H
#define SLUICE_HASH_H

#include "sluice/common.h"

/* Writes the 32 hex chars of MD5(data) and a NUL into hex[33]. */
void sl_md5_hex(const void *data, size_t n, char hex[33]);

/* Streaming content hash (XXH3-128) for files. */
typedef struct sl_content_hash sl_content_hash_t;
sl_content_hash_t *sl_content_hash_new(void);
void sl_content_hash_update(sl_content_hash_t *h, const void *data, size_t n);
/* Writes 32 hex chars and a NUL. */
void sl_content_hash_hex(sl_content_hash_t *h, char hex[33]);
void sl_content_hash_free(sl_content_hash_t *h);

/* Random UUID version 4 as 36 chars + NUL (OpenSSL RAND_bytes). */
int sl_uuid4(char out[37]);

#endif
