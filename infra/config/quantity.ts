/**
 * Kubernetes resource quantities, just enough to validate stack config: the formats the API server
 * accepts for CPU ("500m", "2", "0.5") and memory ("512Mi", "1Gi", "1G", "1000"), and their values
 * so that requests can be compared with limits before anything reaches a cluster.
 */

export const CPU_PATTERN = /^(\d+(\.\d+)?)(m?)$/;
export const MEMORY_PATTERN = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

const MEMORY_FACTORS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** CPU quantity in cores ("500m" -> 0.5); NaN when the text is not a CPU quantity. */
export function cpuCores(quantity: string): number {
  const match = CPU_PATTERN.exec(quantity);
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return match[3] === "m" ? value / 1000 : value;
}

/** Memory quantity in bytes ("1Gi" -> 1073741824); NaN when the text is not a memory quantity. */
export function memoryBytes(quantity: string): number {
  const match = MEMORY_PATTERN.exec(quantity);
  if (!match) return Number.NaN;
  return Number(match[1]) * (MEMORY_FACTORS[match[2] ?? ""] ?? Number.NaN);
}
