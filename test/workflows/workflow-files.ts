/**
 * The repository's GitHub Actions workflows as the tests see them, and the checks every workflow
 * must pass. Each check returns its problems as sentences (empty: none), so a test asserts `[]` on
 * the real files and the exact sentence on a broken fixture.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const WORKFLOW_DIR = join(ROOT, ".github/workflows");

export interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly shell?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, unknown>;
}

export interface Job {
  readonly name?: string;
  readonly if?: string;
  readonly needs?: string | string[];
  readonly "runs-on"?: unknown;
  readonly container?: string | { readonly image: string };
  readonly "timeout-minutes"?: number;
  readonly permissions?: unknown;
  readonly strategy?: { readonly matrix?: Record<string, unknown> };
  readonly env?: Record<string, unknown>;
  readonly outputs?: Record<string, string>;
  readonly steps?: Step[];
  /** A reusable workflow called instead of steps. */
  readonly uses?: string;
  readonly with?: Record<string, unknown>;
}

export interface Workflow {
  readonly name?: string;
  readonly on?: unknown;
  readonly permissions?: unknown;
  readonly concurrency?: { readonly group?: string; readonly "cancel-in-progress"?: unknown };
  readonly defaults?: { readonly run?: { readonly shell?: string } };
  readonly jobs?: Record<string, Job>;
}

export interface WorkflowFile {
  /** Path relative to the repository root, e.g. `.github/workflows/ci.yml`. */
  readonly path: string;
  /** The raw text: pins' version comments exist only here. */
  readonly text: string;
  readonly doc: Workflow;
}

export function parseWorkflow(path: string, text: string): WorkflowFile {
  return { path, text, doc: parse(text) as Workflow };
}

export function readWorkflow(name: string): WorkflowFile {
  const path = `.github/workflows/${name}`;
  return parseWorkflow(path, readFileSync(join(ROOT, path), "utf8"));
}

export function workflowNames(): string[] {
  return readdirSync(WORKFLOW_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(ROOT, path), "utf8")) as T;
}

/** The dataset-fashion-mnist pin (`name=version`) of scripts/tools/pins.sh: one source of truth. */
export function datasetPin(): string {
  const pins = readFileSync(join(ROOT, "scripts/tools/pins.sh"), "utf8");
  const version = /"dataset-fashion-mnist = ([^"\s]+)"/.exec(pins)?.[1];
  if (version === undefined) throw new Error("scripts/tools/pins.sh pins no dataset-fashion-mnist exactly");
  return `dataset-fashion-mnist=${version}`;
}

export function packageScripts(): Record<string, string> {
  return readJson<{ scripts: Record<string, string> }>("package.json").scripts;
}

/** The stacks that have a Pulumi.<stack>.yaml at the repository root. */
export function repoStacks(): string[] {
  return readdirSync(ROOT)
    .map((f) => /^Pulumi\.([\w-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

export function jobsOf(doc: Workflow): [string, Job][] {
  return Object.entries(doc.jobs ?? {});
}

export function stepsOf(doc: Workflow): { job: string; step: Step }[] {
  return jobsOf(doc).flatMap(([job, j]) => (j.steps ?? []).map((step) => ({ job, step })));
}

/** The step that uses `action` (owner/repo, any ref) with the given `with.command`, if any. */
export function stepUsing(
  doc: Workflow,
  action: string,
  predicate: (s: Step) => boolean = () => true,
): Step[] {
  return stepsOf(doc)
    .map(({ step }) => step)
    .filter((s) => s.uses?.split("@")[0] === action && predicate(s));
}

/** The reusable workflow a local `uses: ./.github/workflows/x.yml` job calls, or undefined. */
function localWorkflowPath(uses: string): string | undefined {
  return uses.startsWith("./") ? uses.slice(2) : undefined;
}

/**
 * The shape GitHub requires and the team's rules: a name, triggers, an explicit `permissions`
 * block, and jobs that either run steps on a runner (with a timeout) or call a local reusable
 * workflow that declares `workflow_call`.
 */
export function structureProblems(file: WorkflowFile): string[] {
  const { doc } = file;
  const problems: string[] = [];
  if (typeof doc !== "object" || doc === null) return [`${file.path}: not a YAML mapping`];
  if (typeof doc.name !== "string") problems.push(`${file.path}: no name`);
  if (doc.on === undefined || doc.on === null) problems.push(`${file.path}: no \`on\` triggers`);
  if (typeof doc.permissions !== "object" || doc.permissions === null) {
    problems.push(
      `${file.path}: no top-level \`permissions\` block (the token would get the repository default)`,
    );
  }
  const jobs = jobsOf(doc);
  if (jobs.length === 0) problems.push(`${file.path}: no jobs`);
  for (const [id, job] of jobs) {
    const where = `${file.path} job ${id}`;
    if (job.uses !== undefined) {
      const called = localWorkflowPath(job.uses);
      if (called === undefined) {
        problems.push(`${where}: calls a remote reusable workflow ${job.uses}`);
      } else if (!existsSync(join(ROOT, called))) {
        problems.push(`${where}: calls ${called}, which does not exist`);
      } else {
        const on = parseWorkflow(called, readFileSync(join(ROOT, called), "utf8")).doc.on;
        if (typeof on !== "object" || on === null || !("workflow_call" in on)) {
          problems.push(`${where}: calls ${called}, which has no workflow_call trigger`);
        }
      }
      continue;
    }
    if (typeof job["runs-on"] !== "string") problems.push(`${where}: no runs-on`);
    if (typeof job["timeout-minutes"] !== "number")
      problems.push(`${where}: no timeout-minutes (default is 6 hours)`);
    if (!Array.isArray(job.steps) || job.steps.length === 0) {
      problems.push(`${where}: no steps`);
      continue;
    }
    job.steps.forEach((step, i) => {
      if ((step.uses === undefined) === (step.run === undefined)) {
        problems.push(`${where} step ${i + 1}: needs exactly one of uses or run`);
      }
    });
  }
  return problems;
}

const NPM_RUN = /\bnpm\s+(?:run|run-script)\s+(?:-{1,2}[\w-]+\s+)*([\w:.-]+)/g;
const NPM_LIFECYCLE = /\bnpm\s+(test|start|stop|restart)\b/g;

/** The package.json scripts a shell snippet calls: `npm run X`, `npm run --silent X`, `npm test`. */
export function npmScriptsCalled(run: string): string[] {
  return [...run.matchAll(NPM_RUN), ...run.matchAll(NPM_LIFECYCLE)].map((m) => m[1]!);
}

export function missingScriptProblems(file: WorkflowFile, scripts: Record<string, string>): string[] {
  return stepsOf(file.doc).flatMap(({ job, step }) =>
    npmScriptsCalled(step.run ?? "")
      .filter((name) => !(name in scripts))
      .map(
        (name) => `${file.path} job ${job}: calls npm script "${name}", which package.json does not define`,
      ),
  );
}

/** Every `uses:` of a step or job, with the comment on its line. */
export function usesRefs(file: WorkflowFile): { uses: string; comment: string }[] {
  const lines = file.text.split("\n");
  const refs = [
    ...jobsOf(file.doc).flatMap(([, job]) => (job.uses ? [job.uses] : [])),
    ...stepsOf(file.doc).flatMap(({ step }) => (step.uses ? [step.uses] : [])),
  ];
  return refs.map((uses) => {
    const line = lines.find((l) => new RegExp(`uses:\\s*${escapeRegExp(uses)}(\\s|$)`).test(l)) ?? "";
    return { uses, comment: /#\s*(.*)$/.exec(line)?.[1]?.trim() ?? "" };
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const FULL_SHA = /^[0-9a-f]{40}$/;
const EXACT_VERSION = /^v?\d+\.\d+\.\d+$/;

/**
 * Third-party actions must not move under us: pinned to a full commit SHA with the exact
 * version in a comment (for reviewers and update tools), or at least to an exact version tag.
 * Local actions and workflows (`./...`) are part of the repository.
 */
export function pinProblems(file: WorkflowFile): string[] {
  return usesRefs(file).flatMap(({ uses, comment }) => {
    if (uses.startsWith("./")) return [];
    if (uses.startsWith("docker://")) {
      return /@sha256:[0-9a-f]{64}$/.test(uses) ? [] : [`${file.path}: ${uses} is not pinned by digest`];
    }
    const [action, ref = ""] = uses.split("@");
    if (FULL_SHA.test(ref)) {
      return EXACT_VERSION.test(comment.split(/\s/)[0] ?? "")
        ? []
        : [`${file.path}: ${action} is pinned by SHA without its exact version in a comment (# vX.Y.Z)`];
    }
    return EXACT_VERSION.test(ref)
      ? []
      : [`${file.path}: ${uses} is not pinned to a commit SHA or an exact version`];
  });
}

/** One action, one pin: the same action at two SHAs means an update reached only one file. */
export function pinConsistencyProblems(files: WorkflowFile[]): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const file of files) {
    for (const { uses } of usesRefs(file)) {
      if (uses.startsWith("./")) continue;
      const [action = "", ref = ""] = uses.split("@");
      const first = seen.get(action);
      if (first === undefined) seen.set(action, ref);
      else if (first !== ref) problems.push(`${action} is pinned at both ${first} and ${ref} (${file.path})`);
    }
  }
  return problems;
}

/** Every Node.js version the workflows run: setup-node's node-version and node:<version> containers. */
export function nodeVersions(file: WorkflowFile): string[] {
  const fromSetup = stepUsing(file.doc, "actions/setup-node").map((s) => String(s.with?.["node-version"]));
  const fromContainers = jobsOf(file.doc).flatMap(([, job]) => {
    const image = typeof job.container === "string" ? job.container : job.container?.image;
    const version = image ? /^node:([\d.]+)(?:-|$)/.exec(image)?.[1] : undefined;
    return version ? [version] : [];
  });
  return [...fromSetup, ...fromContainers];
}
