/**
 * A JPEG's declared size, from its frame header, by walking the marker segments as a decoder does
 * (each segment names its length, so a step is a jump): bounded by the segments in `bytes`, where
 * image-size's reader advances a byte at a time through anything it does not recognise (20 ms on
 * the event loop for 64 KiB of zeros after the start marker).
 */

/** Start-of-frame markers (SOF0-SOF15 but DHT C4, JPG C8 and DAC CC): height then width follow. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Markers without a length: TEM and RST0-7. */
function isStandalone(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
}

/** `{ width, height }` of the first frame, or undefined when `bytes` holds no readable frame header. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 1 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined; // not a marker where one must be
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (isStandalone(marker)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda || at + 3 >= bytes.length) return undefined; // EOI, scan data, cut
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (length < 2) return undefined;
    if (isStartOfFrame(marker)) {
      if (at + 8 >= bytes.length) return undefined;
      const height = (bytes[at + 5]! << 8) | bytes[at + 6]!;
      const width = (bytes[at + 7]! << 8) | bytes[at + 8]!;
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    at += 2 + length;
  }
  return undefined;
}
