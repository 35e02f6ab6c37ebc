/*
 * mail_aliases - alias files in aliases(5) syntax, named by alias_maps.
 *
 *     # comment
 *     postmaster: root
 *     team:       alice, bob,
 *                 carol@example.net        (a line starting with white
 *                                           space continues the previous)
 *
 * Names are compared without case.  A "hash:" (or "lmdb:", "btree:",
 * "dbm:", "texthash:") prefix in alias_maps is accepted and ignored: postie
 * reads the text file itself, so there is no indexed database to go stale.
 * Each process keeps the parsed file and re-reads it when its inode, size
 * or mtime changes, so an edit takes effect at the next delivery even
 * without "postie newaliases" (which checks the files and reports each
 * problem with file and line).
 *
 * Does not: expand recursively (local does that, with its loop check and
 * depth limit), or deliver to files and commands.
 */
#ifndef POSTIE_GLOBAL_MAIL_ALIASES_H
#define POSTIE_GLOBAL_MAIL_ALIASES_H

#include <stddef.h>

typedef struct alias_table alias_table;

typedef void (*alias_report_fn)(const char *path, int line, const char *text,
                                void *ctx);

/* Parse the text of one alias file; report (may be NULL) gets each problem.
 * Bad entries are skipped; the others are kept. */
alias_table *mail_aliases_parse(const char *text, const char *path,
                                alias_report_fn report, void *ctx);
void mail_aliases_free(alias_table **tp);
size_t mail_aliases_count(const alias_table *t);
/* The values of name, NULL-terminated, owned by the table; NULL if none. */
char *const *mail_aliases_table_lookup(const alias_table *t, const char *name);

/* The file path behind one alias_maps entry ("hash:/etc/aliases" ->
 * "/etc/aliases"; relative to the configuration directory).  New string. */
char *mail_aliases_path(const char *map);

/* Look name up in every alias_maps file, first match wins.  1 found
 * (*values_r: a new NULL-terminated vector, free with conf_free_list), 0
 * not found, -1 an alias file could not be read (*err_r).  A map file that
 * does not exist is an empty map. */
int mail_aliases_lookup(const char *name, char ***values_r, char **err_r);

/* newaliases: check every alias_database file; returns the number of
 * problems, reporting each; *entries_r counts the aliases found. */
int mail_aliases_check(alias_report_fn report, void *ctx, size_t *entries_r);

#endif
