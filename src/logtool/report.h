/*
 * report - "postie log report": totals, top lists, delays and problems of a
 * whole log, as text, JSON or one self-contained HTML page.
 *
 * (Placeholder interface made by the logtool core so that the dispatch links;
 * the report's owner replaces this file and report.c.)
 */
#ifndef POSTIE_LOGTOOL_REPORT_H
#define POSTIE_LOGTOOL_REPORT_H

/* argv[0] is "report"; returns a sysexits code. */
int logtool_report_main(int argc, char **argv);

#endif
