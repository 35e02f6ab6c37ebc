/*
 * config_cmd_edit_test - postconf -e / -X edits of postie.conf's text:
 * comments and other lines kept byte for byte, continuation lines go with
 * their parameter, every definition of a name is edited, new names are
 * appended.
 */
#include <stdlib.h>

#include "tools/config_cmd.h"
#include "util/mem.h"
#include "util/test.h"

static void test_edit_keeps_comments_and_other_lines(void)
{
    static const struct {
        const char *text;
        const char *name, *value; /* value NULL: -X */
        const char *want;
        int found;
    } cases[] = {
        /* Replaced in place; comments, blanks, others untouched. */
        {"# head\nmyhostname = a\n\n# mid\nrelayhost = r\n", "myhostname", "b",
         "# head\nmyhostname = b\n\n# mid\nrelayhost = r\n", 1},
        /* Continuation lines belong to the replaced definition. */
        {"mydestination = a,\n    b,\n\tc\nrelayhost = r\n", "mydestination", "x",
         "mydestination = x\nrelayhost = r\n", 1},
        /* A comment inside a continued value stays. */
        {"mydestination = a,\n# note\n    b\n", "mydestination", NULL, "# note\n", 1},
        /* Every definition (the last one wins when read). */
        {"myhostname = a\nx = 1\nmyhostname = c\n", "myhostname", "b",
         "myhostname = b\nx = 1\nmyhostname = b\n", 2},
        /* Not there: appended, also after a last line without newline. */
        {"x = 1", "relayhost", "[h]:25", "x = 1\nrelayhost = [h]:25\n", 0},
        {"", "relayhost", "r", "relayhost = r\n", 0},
        /* A name is matched whole: myhostname is not myhostname_x. */
        {"myhostname_x = 1\nmyhostname=a\n", "myhostname", NULL, "myhostname_x = 1\n", 1},
        /* -X of an absent name changes nothing. */
        {"# only a comment\n", "relayhost", NULL, "# only a comment\n", 0},
        /* CRLF lines of other parameters are left as they are. */
        {"a = 1\r\nrelayhost = r\r\n", "relayhost", "s", "a = 1\r\nrelayhost = s\n", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_edit e = {cases[i].name, cases[i].value, 0};
        char *got = config_cmd_edit_text(cases[i].text, &e, 1);
        TEST_EQ_STR(got, cases[i].want);
        TEST_EQ_INT(e.found, cases[i].found);
        mem_free(&got);
    }
}

static void test_edit_several_at_once_in_command_line_order(void)
{
    config_edit e[] = {{"b", "2", 0}, {"new1", "x", 0}, {"a", NULL, 0}, {"new2", "y", 0}};
    char *got = config_cmd_edit_text("a = 1\nb = 1\n", e, 4);
    TEST_EQ_STR(got, "b = 2\nnew1 = x\nnew2 = y\n");
    mem_free(&got);
}

int main(void)
{
    TEST_RUN(test_edit_keeps_comments_and_other_lines);
    TEST_RUN(test_edit_several_at_once_in_command_line_order);
    return test_done();
}
