/** Why an uploaded image was refused; the route maps each reason to a status and an error code. */
export type ImageProblem = "UNSUPPORTED_FORMAT" | "CORRUPT" | "TOO_LARGE";

export class ImageInputError extends Error {
  override readonly name = "ImageInputError";
  constructor(
    readonly problem: ImageProblem,
    message: string,
  ) {
    super(message);
  }
}
