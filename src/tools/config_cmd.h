/*
 * config_cmd - "postie config": Postfix's postconf and "postfix check".
 *
 *   config_cmd.c       show (postconf, -n, -d, -x) and check
 *   config_cmd_edit.c  -e and -X: edit postie.conf in place
 */
#ifndef POSTIE_TOOLS_CONFIG_CMD_H
#define POSTIE_TOOLS_CONFIG_CMD_H

#include <stdbool.h>
#include <stddef.h>

/* One edit: set name to value, or remove it when value is NULL.  found
 * counts the definitions met (0: -e appends one). */
typedef struct config_edit {
    const char *name;
    const char *value;
    int found;
} config_edit;

/* The file's text with the edits applied (new string); see the file's
 * header for the rules.  A pure function, for the unit test. */
char *config_cmd_edit_text(const char *text, config_edit *edits, size_t n);

/* "postie config -e 'name = value'..." (remove false) or "-X name..."
 * (remove true): argv holds only the operands.  Exit status. */
int config_cmd_edit_main(bool remove, int argc, char **argv);

#endif
