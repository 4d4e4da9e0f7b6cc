/* Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
 *
 * Example job `mandelbrot`: renders the Mandelbrot set to `mandelbrot.pgm` (binary PGM, 8-bit
 * grey) in the job's scratch directory and prints a one-line summary to stdout.
 * Usage: mandelbrot [WIDTH [HEIGHT [MAX_ITERATIONS]]]   (defaults 640 480 256)
 * The summary is "mandelbrot WIDTHxHEIGHT iterations=MAX inside=COUNT checksum=HEX": COUNT is
 * the number of pixels that never escaped, HEX an FNV-1a hash of the pixel bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static long parse(const char *text, long low, long high, const char *what) {
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < low || value > high) {
        fprintf(stderr, "mandelbrot: %s must be a whole number from %ld to %ld, not '%s'\n", what, low, high, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv) {
    long width = argc > 1 ? parse(argv[1], 1, 8192, "WIDTH") : 640;
    long height = argc > 2 ? parse(argv[2], 1, 8192, "HEIGHT") : 480;
    long maxIterations = argc > 3 ? parse(argv[3], 1, 100000, "MAX_ITERATIONS") : 256;
    unsigned char *pixels = malloc((size_t)width * (size_t)height);
    if (pixels == NULL) {
        fprintf(stderr, "mandelbrot: cannot allocate %ldx%ld pixels\n", width, height);
        return 3;
    }
    long inside = 0;
    uint32_t checksum = 2166136261u;
    for (long y = 0; y < height; y++) {
        double ci = -1.25 + 2.5 * (double)y / (double)height;
        for (long x = 0; x < width; x++) {
            double cr = -2.25 + 3.25 * (double)x / (double)width;
            double zr = 0, zi = 0;
            long n = 0;
            while (n < maxIterations && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                n++;
            }
            unsigned char shade = n >= maxIterations ? 0 : (unsigned char)(255 - (n * 255) / maxIterations);
            if (n >= maxIterations) inside++;
            pixels[y * width + x] = shade;
            checksum = (checksum ^ shade) * 16777619u;
        }
    }
    FILE *file = fopen("mandelbrot.pgm", "wb");
    if (file == NULL) {
        perror("mandelbrot: cannot create mandelbrot.pgm");
        return 4;
    }
    fprintf(file, "P5\n%ld %ld\n255\n", width, height);
    if (fwrite(pixels, 1, (size_t)width * (size_t)height, file) != (size_t)width * (size_t)height || fclose(file) != 0) {
        perror("mandelbrot: cannot write mandelbrot.pgm");
        return 4;
    }
    free(pixels);
    printf("mandelbrot %ldx%ld iterations=%ld inside=%ld checksum=%08x\n", width, height, maxIterations, inside, checksum);
    return 0;
}
