/* AWS Signature Version 4, as a pure function (no clock, no network), so
 * that it can be checked against AWS's published examples. Internal to
 * src/net/ (the S3 driver); tests include it directly. */
#ifndef SLUICE_NET_SIGV4_H
#define SLUICE_NET_SIGV4_H

#include "sluice/buf.h"
#include "sluice/common.h"

/* SHA-256 of the empty string, the payload hash of bodiless requests. */
#define SL_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SL_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* A name/value pair: a query parameter (both unencoded) or a header. */
typedef struct {
    const char *name;
    const char *value; /* NULL is the same as "" */
} sl_sigv4_pair_t;

typedef struct {
    const char *method;  /* "GET", "PUT"... */
    const char *host;    /* as sent in Host: "bucket.s3.us-east-1.amazonaws.com", "127.0.0.1:9000" */
    const char *path;    /* unencoded, starts with '/': "/bucket/my key.txt" */
    const sl_sigv4_pair_t *query; /* unencoded parameters, any order; value "" for "?uploads" */
    size_t nquery;
    const sl_sigv4_pair_t *headers; /* extra headers to sign (any case), e.g. range */
    size_t nheaders;
    const char *payload_hash;  /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    bool sign_content_sha256;  /* add and sign x-amz-content-sha256 (S3 requires it) */
    const char *amz_date;      /* "20130524T000000Z" */
    const char *region;
    const char *service;       /* "s3" */
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL or "": none; else signed as x-amz-security-token */
} sl_sigv4_input_t;

typedef struct {
    sl_buf_t canonical_request;
    sl_buf_t string_to_sign;
    sl_buf_t signed_headers;  /* "host;range;x-amz-content-sha256;x-amz-date" */
    sl_buf_t authorization;   /* value of the Authorization header */
    sl_buf_t encoded_path;    /* the canonical URI, to put in the request URL */
    sl_buf_t query_string;    /* the canonical query string, to put after '?' */
    char signature[65];
} sl_sigv4_output_t;

/* Computes everything a signed request needs. The caller sends the
 * headers it passed plus host, x-amz-date (in->amz_date),
 * x-amz-content-sha256 (when sign_content_sha256) and
 * x-amz-security-token (when set), and Authorization. out must be zeroed
 * (or freed) before; free it with sl_sigv4_output_free. Returns 0,
 * SL_EINVAL (missing field, header name not a token) or SL_ENOMEM. */
int sl_sigv4_sign(const sl_sigv4_input_t *in, sl_sigv4_output_t *out);
void sl_sigv4_output_free(sl_sigv4_output_t *out);

/* Appends s[0..n) percent-encoded per RFC 3986: unreserved characters
 * (A-Z a-z 0-9 - . _ ~) kept, every other byte as %XX (uppercase); '/'
 * kept when keep_slash. */
int sl_sigv4_uri_encode(sl_buf_t *out, const char *s, size_t n, bool keep_slash);

/* The derived signing key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date8),
 * region), service), "aws4_request"). */
int sl_sigv4_signing_key(const char *secret, const char *date8, const char *region,
                         const char *service, unsigned char key[32]);

/* Hex SHA-256 of data into hex[65]. */
void sl_sigv4_sha256_hex(const void *data, size_t n, char hex[65]);

/* "YYYYMMDDTHHMMSSZ" for a UTC time in microseconds, into out[17]. */
void sl_sigv4_amz_date(int64_t us, char out[17]);

#endif
