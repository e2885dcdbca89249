/** IPv4 CIDR arithmetic for carving a VPC into per-zone subnets. */

function toInt(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

function toAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/**
 * The `index`-th subnet of `cidr` that is `newBits` longer: subnetCidr("10.0.0.0/16", 4, 2) is
 * "10.0.32.0/20". Throws when the index does not fit.
 */
export function subnetCidr(cidr: string, newBits: number, index: number): string {
  const [address, prefixText] = cidr.split("/");
  const prefix = Number(prefixText) + newBits;
  if (!address || prefix > 32 || index < 0 || index >= 2 ** newBits) {
    throw new RangeError(`subnet ${index} of /${prefix} does not fit in ${cidr}`);
  }
  const base = toInt(address) - (toInt(address) % 2 ** (32 - Number(prefixText)));
  return `${toAddress(base + index * 2 ** (32 - prefix))}/${prefix}`;
}
