/**
 * The commands the plinth image runs, for the Dockerfile (its ENTRYPOINT, which the Deployment
 * uses), the Pulumi program (the CronJobs' commands), `npm start`, the local stack and the tests
 * that start the real process. The image runs the JavaScript `npm run build` compiles from service/
 * (tsconfig.build.json) into dist/: no loader at run time (tsx's ran in a second V8 isolate: ~30 MB
 * of RSS), and the tests that start the process run the same compiled files.
 */

/** Where `npm run build` writes the compiled service, relative to the package root. */
export const BUILD_DIR = "dist";

/** Each program in the image, as its compiled module relative to the package root. */
export const IMAGE_PROGRAMS = {
  /** The inference service (the image's ENTRYPOINT). */
  serve: `${BUILD_DIR}/service/main.js`,
  /** The drift CronJob. */
  driftCheck: `${BUILD_DIR}/service/drift/check.js`,
  /** The retrain CronJob and `docker run --entrypoint node plinth ...` training. */
  train: `${BUILD_DIR}/service/train/main.js`,
} as const;

export type ImageProgram = keyof typeof IMAGE_PROGRAMS;

/** A container command running `program` with `args`, from the image's working directory. */
export function imageCommand(program: ImageProgram, ...args: string[]): string[] {
  return ["node", IMAGE_PROGRAMS[program], ...args];
}
