/**
 * What counts as "every public address", for every policy: CIDR blocks (with NetworkPolicy-style
 * `except` holes) read as integer ranges, so 0.0.0.0/1 plus 128.0.0.0/1 is the whole internet as
 * surely as 0.0.0.0/0 is, and so is the same with the private ranges cut out. IPv4 and IPv6 are
 * judged separately.
 */
import ipaddr from "ipaddr.js";

export interface AddressBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

type Family = "ipv4" | "ipv6";
interface Range {
  readonly start: bigint;
  readonly end: bigint;
}

const BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };

/** The addresses a CIDR spans; undefined when it does not parse (the API server refuses those). */
function rangeOf(cidr: string): { family: Family; range: Range } | undefined {
  let parsed: ReturnType<typeof ipaddr.parseCIDR>;
  try {
    parsed = ipaddr.parseCIDR(cidr.trim());
  } catch {
    return undefined;
  }
  const [address, prefix] = parsed;
  const family = address.kind();
  const value = address.toByteArray().reduce((sum, byte) => sum * 256n + BigInt(byte), 0n);
  const size = 1n << BigInt(BITS[family] - prefix);
  const start = value - (value % size);
  return { family, range: { start, end: start + size - 1n } };
}

function subtract(ranges: readonly Range[], hole: Range): Range[] {
  return ranges.flatMap((r) => {
    if (hole.end < r.start || hole.start > r.end) return [r];
    const kept: Range[] = [];
    if (hole.start > r.start) kept.push({ start: r.start, end: hole.start - 1n });
    if (hole.end < r.end) kept.push({ start: hole.end + 1n, end: r.end });
    return kept;
  });
}

function coversAll(ranges: readonly Range[], family: Family): boolean {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let next = 0n;
  for (const r of sorted) {
    if (r.start > next) return false;
    if (r.end + 1n > next) next = r.end + 1n;
  }
  return next >= 1n << BigInt(BITS[family]);
}

/**
 * Addresses no internet client has: IPv4's private, shared (CGNAT), loopback, link-local,
 * "this network", multicast and reserved ranges; in IPv6 everything outside global unicast
 * (2000::/3), which holds unique-local, link-local, multicast and loopback.
 */
const NON_PUBLIC = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "::/3",
  "4000::/2",
  "8000::/1",
];

/**
 * The address families whose every public address `blocks` admit together (their holes taken
 * out): a rule admitting those admits the whole internet, whatever it leaves out of the private ranges.
 */
export function familiesAdmittingThePublic(blocks: readonly AddressBlock[]): Family[] {
  const byFamily: Record<Family, Range[]> = { ipv4: [], ipv6: [] };
  for (const block of blocks) {
    const spanned = rangeOf(block.cidr);
    if (!spanned) continue;
    let ranges = [spanned.range];
    for (const hole of block.except ?? []) {
      const holeRange = rangeOf(hole);
      if (holeRange?.family === spanned.family) ranges = subtract(ranges, holeRange.range);
    }
    byFamily[spanned.family].push(...ranges);
  }
  for (const cidr of NON_PUBLIC) {
    const spanned = rangeOf(cidr)!;
    byFamily[spanned.family].push(spanned.range);
  }
  // Only a family some block names can be admitted: the non-public ranges alone admit nothing.
  const named = new Set(blocks.flatMap((block) => rangeOf(block.cidr)?.family ?? []));
  return (["ipv4", "ipv6"] as const).filter(
    (family) => named.has(family) && coversAll(byFamily[family], family),
  );
}
