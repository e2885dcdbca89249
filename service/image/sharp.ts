/**
 * sharp (libvips), loaded on first use. Importing it costs about 30 MB of resident memory, and the
 * service's hot paths (JSON rows, and PNGs through the fast decoder) never touch it: only other
 * formats, PNGs the fast decoder declines, and explain heatmaps do.
 */
import type sharpModule from "sharp";

export type Sharp = typeof sharpModule;

let loaded: Promise<Sharp> | undefined;
let threads: number | undefined;

/** libvips threads per image, applied now if sharp is loaded, else when it loads. */
export function setSharpConcurrency(concurrency: number): void {
  threads = concurrency;
  void loaded?.then((sharp) => sharp.concurrency(concurrency));
}

export function loadSharp(): Promise<Sharp> {
  loaded ??= import("sharp").then(({ default: sharp }) => {
    if (threads !== undefined) sharp.concurrency(threads);
    return sharp;
  });
  return loaded;
}
