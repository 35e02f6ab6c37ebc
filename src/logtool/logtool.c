/*
 * logtool - "postie log" dispatch.  (Placeholder until issue 5 lands.)
 */
#include "logtool/logtool.h"

#include <stdio.h>

int logtool_main(int argc, char **argv)
{
    fprintf(stderr, "postie log: not available yet\n");
    return 69;
}
