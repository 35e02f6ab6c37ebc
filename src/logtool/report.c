/*
 * report - placeholder until "postie log report" lands (its owner replaces
 * this file).
 */
#include "logtool/report.h"

#include <stdio.h>

int logtool_report_main(int argc, char **argv)
{
    fprintf(stderr, "postie log report: not available yet\n");
    return 69; /* EX_UNAVAILABLE */
}
