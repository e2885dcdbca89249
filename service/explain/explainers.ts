/**
 * One saliency explainer per loaded model version, built on first use from the version's ONNX
 * file (read through the model source) and kept as long as that model object lives.
 */
import type { PlinthModel } from "../inference/model.js";
import type { ModelArtifacts } from "../ops/artifacts.js";
import { networkFromOnnx } from "./network-from-onnx.js";
import { SaliencyExplainer } from "./saliency.js";

export class Explainers {
  private readonly byModel = new WeakMap<PlinthModel, Promise<SaliencyExplainer>>();

  constructor(private readonly artifacts: ModelArtifacts) {}

  for(model: PlinthModel): Promise<SaliencyExplainer> {
    let explainer = this.byModel.get(model);
    if (explainer === undefined) {
      explainer = this.build(model);
      // A failure (e.g. an unsupported graph) is not cached: the error is reported per request.
      explainer.catch(() => this.byModel.delete(model));
      this.byModel.set(model, explainer);
    }
    return explainer;
  }

  private async build(model: PlinthModel): Promise<SaliencyExplainer> {
    const bytes = await this.artifacts.modelBytes(model);
    const [c, h, w] = model.metadata.input.shape;
    const shape = model.metadata.input.shape.length === 3 ? { c: c!, h: h!, w: w! } : { c: 1, h: 1, w: c! };
    return new SaliencyExplainer(networkFromOnnx(bytes, shape), model);
  }
}
