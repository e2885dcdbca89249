import { createHash } from "node:crypto";

/**
 * A physical name unique per stack: the parts lower-cased and joined with '-', anything but letters
 * and digits becoming '-'. Longer than `maxLength` (service account ids: 30; GKE clusters: 40;
 * buckets: 63), it keeps a prefix and a stable 6-hex hash of the whole, so distinct inputs stay
 * distinct. Starts with a letter as GCP requires (a leading digit gets an "x" before it).
 */
export function stackScopedName(parts: readonly string[], maxLength: number): string {
  const text = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  const name = /^[a-z]/.test(text) ? text : `x${text}`;
  if (name.length <= maxLength) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 6);
  return `${name.slice(0, maxLength - 7).replace(/-+$/, "")}-${hash}`;
}
