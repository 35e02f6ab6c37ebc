/*
 * base64_test - RFC 4648 section 10's test vectors both ways, SASL PLAIN
 * strings with NUL bytes, and the strict decoder's refusals.
 */
#include "util/base64.h"

#include "util/test.h"

static void test_base64_rfc4648_vectors_both_ways(void)
{
    static const struct {
        const char *plain, *encoded;
    } cases[] = {
        /* RFC 4648 section 10 */
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"\xff\xfe\xfd", "//79"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char enc[64], dec[64];
        size_t pl = strlen(cases[i].plain);
        TEST_EQ_INT(base64_encode(cases[i].plain, pl, enc, sizeof(enc)),
                    strlen(cases[i].encoded));
        TEST_EQ_STR(enc, cases[i].encoded);
        TEST_EQ_INT(BASE64_ENCODED_LEN(pl), strlen(cases[i].encoded));
        long n = base64_decode(cases[i].encoded, strlen(cases[i].encoded), dec, sizeof(dec));
        TEST_EQ_INT(n, pl);
        TEST_TRUE(n >= 0 && memcmp(dec, cases[i].plain, pl) == 0);
    }
}

static void test_base64_decode_refuses_bad_input(void)
{
    static const struct {
        const char *in;
        long want_len;
        const char *want;
    } cases[] = {
        {"AGFsaWNlAHB3", 9, "\0alice\0pw"}, /* AUTH PLAIN: NUL user NUL pass */
        {"YQ==", 1, "a"},
        {"YWI=", 2, "ab"},
        {"YQ=", -1, NULL},      /* not a multiple of four */
        {"Y===", -1, NULL},     /* padding too early in the group */
        {"YQ==YQ==", -1, NULL}, /* padding before the end */
        {"Y!==", -1, NULL},     /* outside the alphabet */
        {"YW Jj", -1, NULL},    /* white space */
        {"YWJj\r\n", -1, NULL},
        {"Zm9v-_==", -1, NULL}, /* the URL-safe alphabet is not this one */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        long n = base64_decode(cases[i].in, strlen(cases[i].in), out, sizeof(out));
        TEST_EQ_INT(n, cases[i].want_len);
        if (n > 0)
            TEST_TRUE(memcmp(out, cases[i].want, (size_t)n) == 0);
    }
}

static void test_base64_output_too_small(void)
{
    char small[4];
    TEST_EQ_INT(base64_decode("YWJj", 4, small, 2), -1);
    TEST_EQ_INT(base64_decode("YWJj", 4, small, 3), 3);
    /* Four characters and the NUL: five octets. */
    TEST_EQ_INT(base64_encode("abc", 3, small, sizeof(small)), -1);
    char five[5];
    TEST_EQ_INT(base64_encode("abc", 3, five, sizeof(five)), 4);
    TEST_EQ_STR(five, "YWJj");
}

int main(void)
{
    TEST_RUN(test_base64_rfc4648_vectors_both_ways);
    TEST_RUN(test_base64_decode_refuses_bad_input);
    TEST_RUN(test_base64_output_too_small);
    return test_done();
}
