/* MD5 (OpenSSL EVP), XXH3-128 content hashes and UUIDv4. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "sluice/hash.h"

static const char HEX[] = "0123456789abcdef";

void sl_md5_hex(const void *data, size_t n, char hex[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, n, md, &mdlen, EVP_md5(), NULL);
    for (unsigned i = 0; i < 16; i++) {
        hex[2 * i] = HEX[md[i] >> 4];
        hex[2 * i + 1] = HEX[md[i] & 15];
    }
    hex[32] = '\0';
}

struct sl_content_hash {
    XXH3_state_t *st;
};

sl_content_hash_t *sl_content_hash_new(void)
{
    sl_content_hash_t *h = malloc(sizeof *h);
    if (!h) {
        return NULL;
    }
    h->st = XXH3_createState();
    if (!h->st) {
        free(h);
        return NULL;
    }
    XXH3_128bits_reset(h->st);
    return h;
}

void sl_content_hash_update(sl_content_hash_t *h, const void *data, size_t n)
{
    XXH3_128bits_update(h->st, data, n);
}

void sl_content_hash_hex(sl_content_hash_t *h, char hex[33])
{
    XXH128_hash_t d = XXH3_128bits_digest(h->st);
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)d.high64,
             (unsigned long long)d.low64);
}

void sl_content_hash_free(sl_content_hash_t *h)
{
    if (h) {
        XXH3_freeState(h->st);
        free(h);
    }
}

int sl_uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        return SL_EIO;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = HEX[b[i] >> 4];
        *p++ = HEX[b[i] & 15];
    }
    *p = '\0';
    return 0;
}
