/*
 * utf8_test - well-formed and ill-formed UTF-8 (RFC 3629 section 4 and
 * the classic decoder stress cases: overlong forms, surrogates, code
 * points past U+10FFFF, stray and missing continuation bytes, latin-1).
 */
#include "util/utf8.h"

#include "util/test.h"

static void test_utf8_valid_table(void)
{
    static const struct {
        const char *in;
        size_t len; /* 0: strlen */
        bool want;
    } cases[] = {
        {"", 0, true},
        {"plain ascii <a@b.example>", 0, true},
        {"caf\xc3\xa9", 0, true},                   /* U+00E9 */
        {"\xe2\x82\xac", 0, true},                  /* U+20AC euro */
        {"\xef\xbf\xbd", 0, true},                  /* U+FFFD */
        {"\xf0\x9f\x93\xa7", 0, true},              /* U+1F4E7 */
        {"\xf4\x8f\xbf\xbf", 0, true},              /* U+10FFFF, the last */
        {"\xed\x9f\xbf", 0, true},                  /* U+D7FF, below surrogates */
        {"\xee\x80\x80", 0, true},                  /* U+E000, above them */
        {"a\0b", 3, true},                          /* NUL is U+0000 */
        {"caf\xe9", 0, false},                      /* latin-1 e-acute */
        {"\xe9t\xe9", 0, false},
        {"\xc0\xaf", 0, false},                     /* overlong '/' */
        {"\xc1\xbf", 0, false},                     /* overlong */
        {"\xe0\x80\xaf", 0, false},                 /* overlong 3-byte '/' */
        {"\xe0\x9f\xbf", 0, false},                 /* overlong U+07FF */
        {"\xf0\x80\x80\xaf", 0, false},             /* overlong 4-byte '/' */
        {"\xf0\x8f\xbf\xbf", 0, false},             /* overlong U+FFFF */
        {"\xed\xa0\x80", 0, false},                 /* U+D800 surrogate */
        {"\xed\xbf\xbf", 0, false},                 /* U+DFFF surrogate */
        {"\xed\xa0\xbd\xed\xb2\xa9", 0, false},     /* CESU-8 pair */
        {"\xf4\x90\x80\x80", 0, false},             /* U+110000 */
        {"\xf5\x80\x80\x80", 0, false},             /* lead F5 */
        {"\xff", 0, false},
        {"\xfe\xff", 0, false},
        {"\x80", 0, false},                         /* stray continuation */
        {"a\xbf" "b", 0, false},
        {"\xc3", 0, false},                         /* truncated at end */
        {"\xe2\x82", 0, false},
        {"\xf0\x9f\x93", 0, false},
        {"\xc3(", 0, false},                        /* bad continuation */
        {"\xe2\x28\xa1", 0, false},
        {"\xe2\x82\x28", 0, false},
        {"\xf0\x9f\x93\x28", 0, false},
        {"\xf8\x88\x80\x80\x80", 0, false},         /* old 5-byte form */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = cases[i].len ? cases[i].len : strlen(cases[i].in);
        if (utf8_valid(cases[i].in, n) != cases[i].want)
            TEST_FAIL_AT("case %zu: got %d, want %d", i, !cases[i].want, cases[i].want);
        test_checks++;
    }
}

int main(void)
{
    TEST_RUN(test_utf8_valid_table);
    return test_done();
}
