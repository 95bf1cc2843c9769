/* API keys of `sluice serve`: making one, checking one a request presents,
 * and what a key's scopes allow. The state store keeps keys (state.h:
 * sl_api_key_t); this module never touches it.
 *
 * A key is "slk_<id>_<secret>": id 12 and secret 32 characters of lowercase
 * base32 (a-z, 2-7), all from RAND_bytes (60 and 160 bits). The id is
 * public (listings show it) and finds the key's row in one lookup; the
 * store keeps the hex SHA-256 of the whole key text, never the key. Keys
 * are long random secrets, so a fast hash is right (a slow password hash
 * protects guessable secrets, which these are not). A request costs: parse
 * (id), one get by id, verify (hash and compare in constant time).
 *
 * Scopes are space-separated: `read`, `write`, `admin` (admin implies write
 * and read, write implies read) and `route:GLOB`, a path glob
 * (fnmatch(3) without flags: `*` matches any characters, `/` too) naming
 * the routes a key may call: `route:*`, `route:/fetch*`. Routes come only
 * from route: scopes; admin does not imply them. */
#ifndef SLUICE_APIKEY_H
#define SLUICE_APIKEY_H

#include "sluice/common.h"

#define SL_APIKEY_PREFIX "slk_"
#define SL_APIKEY_ID_LEN 12
#define SL_APIKEY_SECRET_LEN 32
/* "slk_" + id + "_" + secret: 49 characters. */
#define SL_APIKEY_LEN (4 + SL_APIKEY_ID_LEN + 1 + SL_APIKEY_SECRET_LEN)
/* Hex SHA-256. */
#define SL_APIKEY_HASH_LEN 64
/* Key names: 1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit. */
#define SL_APIKEY_NAME_MAX 64

/* A key just made: its text (to show once, then wipe with
 * sl_apikey_wipe), its id and the hash to store. */
typedef struct {
    char key[SL_APIKEY_LEN + 1];
    char id[SL_APIKEY_ID_LEN + 1];
    char hash[SL_APIKEY_HASH_LEN + 1];
} sl_apikey_new_t;

/* Makes a new random key. SL_EIO with a message when the system's random
 * source fails (out is wiped then). */
int sl_apikey_generate(sl_apikey_new_t *out, sl_err_t *err);
/* Overwrites a key's text and the rest of k (OPENSSL_cleanse). */
void sl_apikey_wipe(sl_apikey_new_t *k);

/* The hex SHA-256 of text[0..n) (the whole key text) and a NUL. */
void sl_apikey_hash(const char *text, size_t n, char hex[SL_APIKEY_HASH_LEN + 1]);

/* Reads the id out of a presented key text[0..n) into id (NUL-terminated)
 * so its row can be looked up. SL_EINVAL when the text is not a well-formed
 * key: every character is checked, with no early exit once the length is
 * right, and nothing here reads a stored hash. The message in err (may be
 * NULL) never quotes the text. */
int sl_apikey_parse(const char *text, size_t n, char id[SL_APIKEY_ID_LEN + 1], sl_err_t *err);

/* Whether text[0..n) is the key whose stored hex hash is stored_hash: the
 * text is hashed and the two hashes compared with CRYPTO_memcmp, in time
 * that depends on neither. stored_hash NULL (no key has the presented id)
 * or not 64 characters compares against a dummy and answers false, in the
 * same time, so a caller that calls it for unknown ids too does not tell
 * them apart by timing. */
bool sl_apikey_verify(const char *text, size_t n, const char *stored_hash);

/* 0 when name is a valid key name (SL_APIKEY_NAME_MAX), else SL_EINVAL
 * with a message. */
int sl_apikey_check_name(const char *name, sl_err_t *err);

/* Checks and normalises scopes given as n strings, each holding one or
 * more space-separated scopes (repeated --scope options): *out gets them
 * in the order given, without repeats, joined by one space (malloc'd).
 * SL_EINVAL with a message naming the first unknown or malformed scope,
 * or saying none was given. */
int sl_apikey_scopes(const char *const *scopes, size_t n, char **out, sl_err_t *err);

/* Whether a key with these scopes (as stored) may do need: "read",
 * "write", "admin", or "route:PATH" (the request's path, without its
 * query string). Anything else, and any scope this version does not know,
 * allows nothing. */
bool sl_apikey_allows(const char *scopes, const char *need);

#endif
