/*
 * user_cmd - placeholder for "postie user".
 */
#include <stdio.h>

#include "tools/tools.h"

int user_main(int argc, char **argv)
{
    fprintf(stderr, "postie user: not available yet\n");
    return 69;
}

int newaliases_main(int argc, char **argv)
{
    fprintf(stderr, "newaliases: not available yet\n");
    return 69;
}
