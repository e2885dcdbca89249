/**
 * The training loss: softmax cross-entropy over the logits, and its gradient, which the trainer
 * hands to backpropagation (service/model/backprop.ts).
 */

/**
 * Softmax cross-entropy: writes `(softmax(logits) - onehot(label)) / denominator` into `dLogits`
 * and returns the summed loss and the number of correct predictions of the `n` rows.
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: Uint8Array,
  n: number,
  classes: number,
  denominator: number,
  dLogits: Float32Array,
): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const r = i * classes;
    let max = -Infinity;
    let best = 0;
    for (let c = 0; c < classes; c++) {
      const v = logits[r + c] as number;
      if (v > max) {
        max = v;
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp((logits[r + c] as number) - max);
    const label = labels[i] as number;
    loss += Math.log(sum) - ((logits[r + label] as number) - max);
    if (best === label) correct++;
    for (let c = 0; c < classes; c++) {
      const p = Math.exp((logits[r + c] as number) - max) / sum;
      dLogits[r + c] = (p - (c === label ? 1 : 0)) / denominator;
    }
  }
  return { loss, correct };
}
