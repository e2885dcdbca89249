/** Image format detection from magic bytes: the body decides, not the declared content type. */

export type SupportedFormat = "png" | "jpeg" | "webp";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** Well-known image formats this service does not accept (415 rather than "corrupt"). */
const OTHER_FORMATS: readonly [string, (b: Uint8Array) => boolean][] = [
  ["gif", (b) => startsWith(b, ascii("GIF8"))],
  ["bmp", (b) => startsWith(b, ascii("BM"))],
  ["tiff", (b) => startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])],
  ["heif/avif", (b) => startsWith(b, ascii("ftyp"), 4)],
  ["ico", (b) => startsWith(b, [0x00, 0x00, 0x01, 0x00])],
  ["svg", (b) => /^\s*(<\?xml|<svg)/i.test(new TextDecoder().decode(b.subarray(0, 64)))],
];

export type Sniffed =
  { kind: "supported"; format: SupportedFormat } | { kind: "other"; format: string } | { kind: "unknown" };

export function sniffImage(bytes: Uint8Array): Sniffed {
  if (startsWith(bytes, PNG_SIGNATURE)) return { kind: "supported", format: "png" };
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { kind: "supported", format: "jpeg" };
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8))
    return { kind: "supported", format: "webp" };
  for (const [format, test] of OTHER_FORMATS) if (test(bytes)) return { kind: "other", format };
  return { kind: "unknown" };
}
