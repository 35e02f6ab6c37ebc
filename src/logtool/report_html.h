/*
 * report_html - "postie log report --html": one self-contained HTML page
 * (inline CSS and SVG charts drawn here; no script, no font, no image, no
 * link to the network) that opens in any browser offline.
 */
#ifndef POSTIE_LOGTOOL_REPORT_HTML_H
#define POSTIE_LOGTOOL_REPORT_HTML_H

#include "logtool/report_agg.h"
#include "logtool/report_out.h"
#include "util/buf.h"

void report_html_write(const report_agg *a, const report_out_opts *o, buf *out);
/* HTML-escape n bytes (text and attribute safe). */
void report_html_esc(buf *out, const char *s, size_t n);

#endif
