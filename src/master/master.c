/*
 * master - placeholder; see master.h.
 */
#include "master/master.h"

#include <stdio.h>

static int master_todo(void)
{
    fprintf(stderr, "postie: not available yet\n");
    return 69;
}

int master_serve_main(int argc, char **argv) { return master_todo(); }
int master_start_main(int argc, char **argv) { return master_todo(); }
int master_stop_main(int argc, char **argv) { return master_todo(); }
int master_status_main(int argc, char **argv) { return master_todo(); }
int master_reload_main(int argc, char **argv) { return master_todo(); }
int master_service_main(int argc, char **argv) { return master_todo(); }
