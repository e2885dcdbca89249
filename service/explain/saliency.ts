/**
 * Gradient x input saliency: how much each pixel pushed the predicted class's logit, computed as
 * the gradient of that logit with respect to the raw pixel times the raw pixel's value. Against
 * an all-black reference image this attributes the logit to the pixels that are actually lit, so
 * the map lies on the garment, brightest where the model looked hardest.
 */
import { backward, GradientWorkspace } from "../model/backprop.js";
import { Activations, forward, softmaxRows } from "../model/network.js";
import type { ExplainableNetwork } from "./network-from-onnx.js";

export interface Explanation {
  readonly classId: number;
  readonly probabilities: Float32Array;
  /** `|d logit / d pixel| * pixel` per input element, scaled so the largest is 1 (all 0 for a black image). */
  readonly saliency: Float32Array;
}

export interface Normalisation {
  readonly normScale: number;
  readonly normShift: number;
}

export class SaliencyExplainer {
  private readonly acts: Activations;
  private readonly ws: GradientWorkspace;
  private readonly grads: Float32Array;
  private readonly classes: number;

  constructor(
    private readonly net: ExplainableNetwork,
    private readonly norm: Normalisation,
  ) {
    this.acts = new Activations(net.arch, 1);
    this.ws = new GradientWorkspace(net.arch, 1);
    this.grads = new Float32Array(net.arch.paramCount);
    const out = net.arch.layers[net.arch.layers.length - 1]!.output;
    this.classes = out.c * out.h * out.w;
  }

  /** Explains one row of normalised input (as the model takes it). Synchronous: a few ms on the CNN. */
  explain(input: Float32Array): Explanation {
    const { arch, params, inputGradientLayer } = this.net;
    const logits = forward(arch, params, input, 1, this.acts);
    const probabilities = softmaxRows(Float32Array.from(logits), this.classes);
    let classId = 0;
    for (let c = 1; c < this.classes; c++) if (probabilities[c]! > probabilities[classId]!) classId = c;
    const dLogits = new Float32Array(this.classes);
    dLogits[classId] = 1;
    this.grads.fill(0);
    backward(arch, params, input, 1, this.acts, dLogits, this.grads, this.ws);
    const gradient = this.ws.inputGrads[inputGradientLayer]!;
    const { normScale, normShift } = this.norm;
    const saliency = new Float32Array(input.length);
    let max = 0;
    for (let i = 0; i < input.length; i++) {
      // d logit / d raw = d logit / d x * normScale; raw = (x - normShift) / normScale.
      const raw = (input[i]! - normShift) / normScale;
      const v = Math.abs(gradient[i]! * normScale * raw);
      saliency[i] = v;
      if (v > max) max = v;
    }
    if (max > 0) for (let i = 0; i < saliency.length; i++) saliency[i] = saliency[i]! / max;
    return { classId, probabilities, saliency };
  }
}
