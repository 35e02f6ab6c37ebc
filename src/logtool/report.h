/*
 * report - "postie log report": totals, top lists, delays and problems of a
 * whole log, as text, JSON or one self-contained HTML page.
 *
 * The pieces: report_agg (one-pass counting, bounded memory), report_topk
 * and report_hist (the bounded structures it uses), report_out (text and
 * JSON), report_html (the page with inline SVG charts).
 */
#ifndef POSTIE_LOGTOOL_REPORT_H
#define POSTIE_LOGTOOL_REPORT_H

/* argv[0] is "report"; returns a sysexits code. */
int logtool_report_main(int argc, char **argv);

#endif
