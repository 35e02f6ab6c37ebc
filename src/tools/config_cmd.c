/*
 * config_cmd - "postie config": print non-default values (postconf -n),
 * "all" (postconf), named values, or "check" (postfix check: each problem
 * with file and line, non-zero exit).
 */
#include <stdio.h>
#include <string.h>

#include "global/mail_conf.h"
#include "tools/tools.h"

static void config_cmd_report(const char *path, int line, const char *text,
                              void *ctx)
{
    if (line > 0)
        fprintf(stderr, "%s:%d: %s\n", path, line, text);
    else
        fprintf(stderr, "%s: %s\n", path, text);
}

int config_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        int n = mail_conf_check(config_cmd_report, NULL);
        if (n > 0) {
            fprintf(stderr, "postie config check: %d problem%s\n", n, n == 1 ? "" : "s");
            return 1;
        }
        return 0;
    }
    mail_conf_read();
    if (argc >= 2 && strcmp(argv[1], "all") == 0) {
        mail_conf_print(true, false);
        return 0;
    }
    if (argc >= 2) {
        int bad = 0;
        for (int i = 1; i < argc; i++) {
            const mail_conf_param *p;
            for (p = mail_conf_params; p->name; p++)
                if (strcmp(p->name, argv[i]) == 0)
                    break;
            if (p->name == NULL) {
                fprintf(stderr, "postie config: unknown parameter: %s\n", argv[i]);
                bad = 1;
                continue;
            }
            printf("%s = %s\n", argv[i], var_str(argv[i]));
        }
        return bad;
    }
    mail_conf_print(false, false);
    return 0;
}
