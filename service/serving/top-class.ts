/** The predicted class of rows of class probabilities: the largest value of each row. */

/** Index of the largest of `width` values from `start` (the first on ties). */
export function argmax(values: Float32Array, start: number, width: number): number {
  let best = 0;
  for (let c = 1; c < width; c++) if (values[start + c]! > values[start + best]!) best = c;
  return best;
}

/** Top class and its probability for each of `rows` rows of `width` probabilities. */
export function topClasses(probs: Float32Array, rows: number, width: number) {
  const classes = new Uint16Array(rows);
  const confidences = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const best = argmax(probs, r * width, width);
    classes[r] = best;
    confidences[r] = probs[r * width + best]!;
  }
  return { classes, confidences };
}
