/* SigV4 signer against AWS's published examples: the four examples of the
 * S3 API reference ("Examples of signature calculations": GET object with
 * Range, PUT object, GET bucket lifecycle, GET bucket list objects) and
 * cases of the generic aws-sig-v4-test-suite (service "service", 2015-08-30).
 * Canonical request, string to sign and signature are compared exactly. */
#include <string.h>

#include "../test.h"
#include "../../../src/net/sigv4.h"

#define S3_AK "AKIAIOSFODNN7EXAMPLE"
#define S3_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_HOST "examplebucket.s3.amazonaws.com"
#define EMPTY SL_SIGV4_EMPTY_SHA256

#define SUITE_AK "AKIDEXAMPLE"
#define SUITE_SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_HOST "example.amazonaws.com"
#define SUITE_DATE "20150830T123600Z"

static sl_sigv4_input_t s3_input(const char *method, const char *path)
{
    sl_sigv4_input_t in = {0};
    in.method = method;
    in.host = S3_HOST;
    in.path = path;
    in.payload_hash = EMPTY;
    in.sign_content_sha256 = true;
    in.amz_date = "20130524T000000Z";
    in.region = "us-east-1";
    in.service = "s3";
    in.access_key = S3_AK;
    in.secret_key = S3_SK;
    return in;
}

static sl_sigv4_input_t suite_input(const char *method, const char *path)
{
    sl_sigv4_input_t in = {0};
    in.method = method;
    in.host = SUITE_HOST;
    in.path = path;
    in.payload_hash = EMPTY;
    in.amz_date = SUITE_DATE;
    in.region = "us-east-1";
    in.service = "service";
    in.access_key = SUITE_AK;
    in.secret_key = SUITE_SK;
    return in;
}

static void check_sts(const sl_sigv4_output_t *o, const char *date, const char *scope,
                      const char *creq_hash)
{
    char want[256];
    snprintf(want, sizeof want, "AWS4-HMAC-SHA256\n%s\n%s\n%s", date, scope, creq_hash);
    CHECK_STR(o->string_to_sign.data, want);
}

SL_TEST(sigv4_s3_get_object_range)
{
    sl_sigv4_pair_t h[] = {{"Range", "bytes=0-9"}};
    sl_sigv4_input_t in = s3_input("GET", "/test.txt");
    in.headers = h;
    in.nheaders = 1;
    sl_sigv4_output_t o = {0};
    CHECK_INT(sl_sigv4_sign(&in, &o), 0);
    CHECK_STR(o.canonical_request.data,
              "GET\n/test.txt\n\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "range:bytes=0-9\n"
              "x-amz-content-sha256:" EMPTY "\n"
              "x-amz-date:20130524T000000Z\n\n"
              "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY);
    check_sts(&o, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
              "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK_STR(o.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK_STR(o.authorization.data,
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
              "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK_STR(o.encoded_path.data, "/test.txt");
    CHECK_STR(o.query_string.data, "");
    sl_sigv4_output_free(&o);
}

SL_TEST(sigv4_s3_put_object)
{
    const char *body = "Welcome to Amazon S3.";
    char hash[65];
    sl_sigv4_sha256_hex(body, strlen(body), hash);
    CHECK_STR(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    sl_sigv4_pair_t h[] = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                           {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
    sl_sigv4_input_t in = s3_input("PUT", "/test$file.text");
    in.headers = h;
    in.nheaders = 2;
    in.payload_hash = hash;
    sl_sigv4_output_t o = {0};
    CHECK_INT(sl_sigv4_sign(&in, &o), 0);
    CHECK_STR(o.canonical_request.data,
              "PUT\n/test%24file.text\n\n"
              "date:Fri, 24 May 2013 00:00:00 GMT\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
              "x-amz-date:20130524T000000Z\n"
              "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
              "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
              "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    check_sts(&o, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
              "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
    CHECK_STR(o.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    CHECK_STR(o.authorization.data,
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
              "aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
              "x-amz-storage-class,"
              "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    CHECK_STR(o.encoded_path.data, "/test%24file.text");
    sl_sigv4_output_free(&o);
}

SL_TEST(sigv4_s3_get_bucket_lifecycle)
{
    /* "?lifecycle" is signed as "lifecycle=". */
    sl_sigv4_pair_t q[] = {{"lifecycle", ""}};
    sl_sigv4_input_t in = s3_input("GET", "/");
    in.query = q;
    in.nquery = 1;
    sl_sigv4_output_t o = {0};
    CHECK_INT(sl_sigv4_sign(&in, &o), 0);
    CHECK_STR(o.canonical_request.data,
              "GET\n/\nlifecycle=\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "x-amz-content-sha256:" EMPTY "\n"
              "x-amz-date:20130524T000000Z\n\n"
              "host;x-amz-content-sha256;x-amz-date\n" EMPTY);
    check_sts(&o, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
              "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
    CHECK_STR(o.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    CHECK_STR(o.query_string.data, "lifecycle=");
    sl_sigv4_output_free(&o);
}

SL_TEST(sigv4_s3_list_objects)
{
    /* Given out of order: the signer sorts. */
    sl_sigv4_pair_t q[] = {{"prefix", "J"}, {"max-keys", "2"}};
    sl_sigv4_input_t in = s3_input("GET", "/");
    in.query = q;
    in.nquery = 2;
    sl_sigv4_output_t o = {0};
    CHECK_INT(sl_sigv4_sign(&in, &o), 0);
    CHECK_STR(o.canonical_request.data,
              "GET\n/\nmax-keys=2&prefix=J\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "x-amz-content-sha256:" EMPTY "\n"
              "x-amz-date:20130524T000000Z\n\n"
              "host;x-amz-content-sha256;x-amz-date\n" EMPTY);
    check_sts(&o, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request",
              "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
    CHECK_STR(o.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    CHECK_STR(o.authorization.data,
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
              "aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
              "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    CHECK_STR(o.query_string.data, "max-keys=2&prefix=J");
    sl_sigv4_output_free(&o);
}

/* One case of the generic suite: canonical request, string to sign
 * (through the canonical request's hash) and signature. */
static void suite_case(const sl_sigv4_input_t *in, const char *creq, const char *creq_hash,
                       const char *sig)
{
    sl_sigv4_output_t o = {0};
    CHECK_INT(sl_sigv4_sign(in, &o), 0);
    CHECK_STR(o.canonical_request.data, creq);
    check_sts(&o, SUITE_DATE, "20150830/us-east-1/service/aws4_request", creq_hash);
    CHECK_STR(o.signature, sig);
    sl_sigv4_output_free(&o);
}

#define SUITE_HDRS "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"

SL_TEST(sigv4_suite_get_vanilla)
{
    sl_sigv4_input_t in = suite_input("GET", "/");
    suite_case(&in, "GET\n/\n\n" SUITE_HDRS EMPTY,
               "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

SL_TEST(sigv4_suite_get_vanilla_query_order_key_case)
{
    sl_sigv4_pair_t q[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    sl_sigv4_input_t in = suite_input("GET", "/");
    in.query = q;
    in.nquery = 2;
    suite_case(&in, "GET\n/\nParam1=value1&Param2=value2\n" SUITE_HDRS EMPTY,
               "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
               "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

SL_TEST(sigv4_suite_get_vanilla_query_unreserved)
{
    const char *u = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    sl_sigv4_pair_t q[] = {{u, u}};
    sl_sigv4_input_t in = suite_input("GET", "/");
    in.query = q;
    in.nquery = 1;
    suite_case(&in,
               "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
               "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n" SUITE_HDRS
                   EMPTY,
               "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
               "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
}

SL_TEST(sigv4_suite_get_utf8)
{
    sl_sigv4_input_t in = suite_input("GET", "/\xe1\x88\xb4");
    suite_case(&in, "GET\n/%E1%88%B4\n\n" SUITE_HDRS EMPTY,
               "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
               "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
}

SL_TEST(sigv4_suite_get_space)
{
    sl_sigv4_input_t in = suite_input("GET", "/example space/");
    suite_case(&in, "GET\n/example%20space/\n\n" SUITE_HDRS EMPTY,
               "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
               "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
}

SL_TEST(sigv4_suite_post_vanilla_query)
{
    sl_sigv4_pair_t q[] = {{"Param1", "value1"}};
    sl_sigv4_input_t in = suite_input("POST", "/");
    in.query = q;
    in.nquery = 1;
    suite_case(&in, "POST\n/\nParam1=value1\n" SUITE_HDRS EMPTY,
               "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
               "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
}

SL_TEST(sigv4_suite_post_x_www_form_urlencoded)
{
    char hash[65];
    sl_sigv4_sha256_hex("Param1=value1", 13, hash);
    CHECK_STR(hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    sl_sigv4_pair_t h[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
    sl_sigv4_input_t in = suite_input("POST", "/");
    in.headers = h;
    in.nheaders = 1;
    in.payload_hash = hash;
    suite_case(&in,
               "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
               "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
               "content-type;host;x-amz-date\n"
               "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
               "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
               "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

SL_TEST(sigv4_suite_post_x_www_form_urlencoded_signed_body)
{
    /* The newer suite's variant: content-length and the body hash signed. */
    sl_sigv4_pair_t h[] = {{"content-type", "application/x-www-form-urlencoded"},
                           {"content-length", "13"}};
    sl_sigv4_input_t in = suite_input("POST", "/");
    in.headers = h;
    in.nheaders = 2;
    in.payload_hash = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
    in.sign_content_sha256 = true;
    suite_case(&in,
               "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
               "host:example.amazonaws.com\n"
               "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
               "x-amz-date:20150830T123600Z\n\n"
               "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
               "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
               "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
               "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");
}

SL_TEST(sigv4_suite_get_vanilla_with_session_token)
{
    sl_sigv4_input_t in = suite_input("GET", "/");
    in.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    suite_case(&in,
               "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
               "x-amz-security-token:"
               "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n"
               "host;x-amz-date;x-amz-security-token\n" EMPTY,
               "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
               "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
}

SL_TEST(sigv4_signing_key_iam_example)
{
    /* The IAM documentation's derived-key example. */
    unsigned char key[32];
    CHECK_INT(sl_sigv4_signing_key(SUITE_SK, "20120215", "us-east-1", "iam", key), 0);
    char hex[65];
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    }
    CHECK_STR(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

SL_TEST(sigv4_uri_encode_rules)
{
    sl_buf_t b = SL_BUF_INIT;
    const char *in = "a b+c=d&e/f~g_h.i-j%k*l'm(n)!\xc3\xa9";
    CHECK_INT(sl_sigv4_uri_encode(&b, in, strlen(in), true), 0);
    CHECK_STR(b.data, "a%20b%2Bc%3Dd%26e/f~g_h.i-j%25k%2Al%27m%28n%29%21%C3%A9");
    sl_buf_clear(&b);
    CHECK_INT(sl_sigv4_uri_encode(&b, "a/b", 3, false), 0);
    CHECK_STR(b.data, "a%2Fb");
    sl_buf_free(&b);
}

SL_TEST(sigv4_query_values_and_headers_canonicalized)
{
    /* Same names sorted by value; "/" and "+" in values encoded; header
     * values trimmed and inner spaces collapsed; repeated headers joined. */
    sl_sigv4_pair_t q[] = {{"prefix", "a b/c+"}, {"k", "2"}, {"k", "1"}, {"uploads", NULL}};
    sl_sigv4_pair_t h[] = {{"X-Custom", "  a   b  "}, {"x-custom", "c"}};
    sl_sigv4_input_t in = suite_input("GET", "/my key/ü");
    in.host = "127.0.0.1:9000";
    in.query = q;
    in.nquery = 4;
    in.headers = h;
    in.nheaders = 2;
    sl_sigv4_output_t o = {0};
    CHECK_INT(sl_sigv4_sign(&in, &o), 0);
    CHECK_STR(o.query_string.data, "k=1&k=2&prefix=a%20b%2Fc%2B&uploads=");
    CHECK_STR(o.encoded_path.data, "/my%20key/%C3%BC");
    CHECK_CONTAINS(o.canonical_request.data, "\nhost:127.0.0.1:9000\n");
    CHECK_CONTAINS(o.canonical_request.data, "\nx-custom:a b,c\n\nhost;x-amz-date;x-custom\n");
    sl_sigv4_output_free(&o);
}

SL_TEST(sigv4_rejects_bad_input)
{
    sl_sigv4_pair_t h[] = {{"bad name", "x"}};
    sl_sigv4_input_t in = suite_input("GET", "/");
    in.headers = h;
    in.nheaders = 1;
    sl_sigv4_output_t o = {0};
    CHECK_INT(sl_sigv4_sign(&in, &o), SL_EINVAL);
    sl_sigv4_output_free(&o);
    sl_sigv4_pair_t h2[] = {{"Host", "other"}};
    in.headers = h2;
    CHECK_INT(sl_sigv4_sign(&in, &o), SL_EINVAL);
    sl_sigv4_output_free(&o);
    in = suite_input("GET", "/");
    in.secret_key = NULL;
    CHECK_INT(sl_sigv4_sign(&in, &o), SL_EINVAL);
    sl_sigv4_output_free(&o);
}

SL_TEST(sigv4_amz_date_format)
{
    char d[17];
    sl_sigv4_amz_date(1369353600000000LL, d); /* 2013-05-24T00:00:00Z */
    CHECK_STR(d, "20130524T000000Z");
    sl_sigv4_amz_date(1440938160123456LL, d);
    CHECK_STR(d, SUITE_DATE);
}

SL_TEST(sigv4_unsigned_payload)
{
    sl_sigv4_input_t in = s3_input("PUT", "/big.bin");
    in.payload_hash = SL_SIGV4_UNSIGNED_PAYLOAD;
    sl_sigv4_output_t o = {0};
    CHECK_INT(sl_sigv4_sign(&in, &o), 0);
    CHECK_STR(o.canonical_request.data,
              "PUT\n/big.bin\n\n"
              "host:examplebucket.s3.amazonaws.com\n"
              "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
              "x-amz-date:20130524T000000Z\n\n"
              "host;x-amz-content-sha256;x-amz-date\nUNSIGNED-PAYLOAD");
    sl_sigv4_output_free(&o);
}
