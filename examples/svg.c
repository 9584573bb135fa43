#include "svg.h"

#include <math.h>
#include <string.h>

void svg_begin(FILE *f, double w, double h)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            w, h, w, h);
}

void svg_end(FILE *f)
{
    fputs("</svg>\n", f);
}

void svg_text(FILE *f, double x, double y, double size, const char *anchor, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"%s\">", x, y, size,
            anchor);
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        default: fputc(*c, f);
        }
    }
    fputs("</text>\n", f);
}

/* A "nice" tick step for a range, 1/2/5 x 10^k. */
static double nice_step(double range, int ticks)
{
    double raw = range / ticks, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

void svg_line_chart(FILE *f, double ox, double oy, double w, double h, const char *title,
                    const char *xlabel, const char *ylabel, const svg_series *s, int ns)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double lo = s[k].ylo ? s[k].ylo[i] : s[k].y[i], hi = s[k].yhi ? s[k].yhi[i] : s[k].y[i];
            if (!isfinite(s[k].y[i]))
                continue;
            x0 = fmin(x0, s[k].x[i]);
            x1 = fmax(x1, s[k].x[i]);
            y0 = fmin(y0, lo);
            y1 = fmax(y1, hi);
        }
    if (!(x0 < x1)) {
        x0 = 0;
        x1 = 1;
    }
    if (!(y0 < y1)) {
        y0 = isfinite(y0) ? y0 - 1 : 0;
        y1 = y0 + 2;
    }
    double pad = 0.05 * (y1 - y0);
    y0 -= pad;
    y1 += pad;
    double L = ox + 70, R = ox + w - 20, T = oy + 35, B = oy + h - 45;
#define PX(v) (L + ((v) - x0) / (x1 - x0) * (R - L))
#define PY(v) (B - ((v) - y0) / (y1 - y0) * (B - T))
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#444\"/>\n", L, T, R - L, B - T);
    double ys = nice_step(y1 - y0, 5), xs = nice_step(x1 - x0, 5);
    char buf[64];
    for (double v = ceil(y0 / ys) * ys; v <= y1; v += ys) {
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L,
                R, PY(v), PY(v));
        snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 * ys ? 0.0 : v);
        svg_text(f, L - 5, PY(v) + 4, 11, "end", buf);
    }
    for (double v = ceil(x0 / xs) * xs; v <= x1; v += xs) {
        snprintf(buf, sizeof buf, "%g", v);
        svg_text(f, PX(v), B + 15, 11, "middle", buf);
    }
    svg_text(f, (L + R) / 2, oy + 20, 14, "middle", title);
    svg_text(f, (L + R) / 2, B + 35, 12, "middle", xlabel);
    fprintf(f, "<g transform=\"translate(%.1f %.1f) rotate(-90)\">", ox + 15, (T + B) / 2);
    svg_text(f, 0, 0, 12, "middle", ylabel);
    fputs("</g>\n", f);
    for (int k = 0; k < ns; k++) {
        if (s[k].ylo && s[k].yhi && s[k].n > 1) {
            fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" points=\"",
                    s[k].color);
            for (int i = 0; i < s[k].n; i++)
                fprintf(f, "%.1f,%.1f ", PX(s[k].x[i]), PY(s[k].yhi[i]));
            for (int i = s[k].n - 1; i >= 0; i--)
                fprintf(f, "%.1f,%.1f ", PX(s[k].x[i]), PY(s[k].ylo[i]));
            fputs("\"/>\n", f);
        }
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                s[k].color);
        for (int i = 0; i < s[k].n; i++)
            if (isfinite(s[k].y[i]))
                fprintf(f, "%.1f,%.1f ", PX(s[k].x[i]), PY(s[k].y[i]));
        fputs("\"/>\n", f);
        double ly = T + 16 + 16 * k;
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"3\"/>\n", L + 10, L + 30, ly - 4, ly - 4, s[k].color);
        svg_text(f, L + 35, ly, 11, "start", s[k].label);
    }
#undef PX
#undef PY
}

int svg_write_chart(const char *path, const char *title, const char *xlabel, const char *ylabel,
                    const svg_series *s, int ns)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    svg_begin(f, 640, 400);
    svg_line_chart(f, 0, 0, 640, 400, title, xlabel, ylabel, s, ns);
    svg_end(f);
    return fclose(f) == 0 ? 0 : -1;
}
