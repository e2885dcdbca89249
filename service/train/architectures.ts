/** The named network architectures the training job can build (`--arch`). */
import type { LayerSpec } from "../model/network.js";

export const ARCHITECTURES = {
  /** The default: a small CNN, two conv/pool stages and two dense layers. */
  cnn: [
    { kind: "conv2d", outChannels: 12, kernel: 3, padding: 1 },
    { kind: "relu" },
    { kind: "maxpool2" },
    { kind: "conv2d", outChannels: 24, kernel: 3, padding: 1 },
    { kind: "relu" },
    { kind: "maxpool2" },
    { kind: "flatten" },
    { kind: "dense", outputs: 64 },
    { kind: "relu" },
  ],
  /** A one-hidden-layer perceptron: fast, below the accuracy target; for quick runs and tests. */
  mlp: [{ kind: "flatten" }, { kind: "dense", outputs: 128 }, { kind: "relu" }],
} as const satisfies Record<string, readonly LayerSpec[]>;

export type ArchitectureName = keyof typeof ARCHITECTURES;

export function isArchitectureName(name: string): name is ArchitectureName {
  return Object.hasOwn(ARCHITECTURES, name);
}

/** The layer stack for `name`, ending in a dense layer with one output per class. */
export function architectureLayers(name: ArchitectureName, classes: number): LayerSpec[] {
  return [...ARCHITECTURES[name], { kind: "dense", outputs: classes }];
}
