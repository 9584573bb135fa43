/* Minimal SVG plotting for the example programs: line charts and scatter
 * panels, written straight to a FILE. Not part of libfpo. */
#ifndef FPO_EXAMPLE_SVG_H
#define FPO_EXAMPLE_SVG_H

#include <stdio.h>

typedef struct svg_series {
    const char *label;
    const char *color; /* CSS color */
    const double *x, *y;
    const double *ylo, *yhi; /* optional band (e.g. mean +- std), may be NULL */
    int n;
} svg_series;

/* A line chart of several series in one box at (ox, oy) of size w x h. */
void svg_line_chart(FILE *f, double ox, double oy, double w, double h, const char *title,
                    const char *xlabel, const char *ylabel, const svg_series *s, int ns);

/* Document helpers. */
void svg_begin(FILE *f, double w, double h);
void svg_end(FILE *f);
void svg_text(FILE *f, double x, double y, double size, const char *anchor, const char *text);

/* Write one line chart as a whole document to path; 0 on success. */
int svg_write_chart(const char *path, const char *title, const char *xlabel, const char *ylabel,
                    const svg_series *s, int ns);

#endif
