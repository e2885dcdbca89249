/**
 * Reads and edits Pulumi.<stack>.yaml. A step moves one model's rollout: `plinth:inference.rollout`
 * in a single-model stack file, `plinth:inference.models.<name>.rollout` otherwise. It is edited
 * through the `yaml` package's Document API (comments and key order survive), and only the bytes
 * of that rollout block are replaced: the rest of the file (the other models' rollouts too) stays
 * byte for byte as it was, whatever its flow-collection spacing. The result is validated with the
 * stack config schema before it is written, atomically (temporary file, then rename).
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parseDocument, type Document, type Node } from "yaml";
import { decodeConfigValue, parseStackConfig } from "../config/load.js";
import {
  configPath,
  modelConfigPath,
  SECRET_KEYS,
  type ModelSettings,
  type ParsedStackConfig,
} from "../config/schema.js";
import { RENDER_SECRETS } from "../render/stack-config.js";
import { UsageError } from "./args.js";
import type { Rollout } from "./transitions.js";

/** The rollout keys a step may change; `gates` is settings and stays as written. */
const EDITED_KEYS = ["strategy", "stable", "candidate", "blueGreen"] as const;
type EditedKey = (typeof EDITED_KEYS)[number];

/** A stack file that cannot be read, parsed or edited; the message starts with its path. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

/** Where one model's rollout sits in a stack file. */
export interface RolloutLocation {
  /** Its key path in the YAML document: `["config", "plinth:inference", "models", "churn", "rollout"]`. */
  readonly keys: readonly string[];
  /** Its config path, which messages name: `plinth:inference.models.churn.rollout`. */
  readonly at: string;
}

export interface StackFile {
  readonly path: string;
  readonly text: string;
  /** The validated config (schema defaults applied, secrets as placeholders). */
  readonly config: ParsedStackConfig;
  /** The model whose rollout a step moves. */
  readonly model: string;
  /** Its settings, as validated (the rollout's gates with their defaults). */
  readonly settings: ModelSettings;
  /** Where its rollout sits. */
  readonly location: RolloutLocation;
  /** Its rollout as written in the file (no defaults), what a step edits. */
  readonly rollout: Rollout;
}

export function stackFilePath(dir: string, stack: string): string {
  return join(dir, `Pulumi.${stack}.yaml`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates a stack file's text with the program's own schema. Secrets never sit in a stack file
 * in plain text (they are `secure:` values or live in the backend), so they are replaced by the
 * render's placeholders, as `npm run render` does.
 */
export function validateStackText(text: string, path: string): ParsedStackConfig {
  const document = parseDocument(text);
  if (document.errors.length > 0)
    throw new StackFileError(`${path}: not valid YAML: ${document.errors[0]!.message}`);
  const config = (document.toJS() as { config?: unknown } | null)?.config;
  if (!isPlainObject(config)) throw new Error(`${path}: no \`config:\` mapping`);
  const raw: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(config)) {
    const [namespace, key] = fullKey.split(":", 2);
    // The CLI writes top-level scalars back as strings (`plinth:protect: "false"` after any
    // `pulumi config set`); they are decoded as the program decodes them.
    if (namespace === "plinth" && key)
      raw[key] = typeof value === "string" ? decodeConfigValue(key, value) : value;
  }
  for (const key of SECRET_KEYS) raw[key] = RENDER_SECRETS[key];
  if (raw.cloud !== "existing") delete raw.kubeconfig;
  return parseStackConfig(raw, () => true);
}

/** Where `model`'s rollout sits in a stack file of `config`'s shape. */
export function rolloutLocation(config: ParsedStackConfig, model: string): RolloutLocation {
  const parts = modelConfigPath(config.inference.shape, model, "rollout");
  const [namespace, ...rest] = parts;
  return { keys: ["config", `plinth:${namespace!}`, ...rest], at: configPath(parts) };
}

/**
 * The model a step moves: `requested` (--model), which must be one of the stack's models; without
 * it, the only one. A UsageError listing the models otherwise.
 */
export function chooseModel(config: ParsedStackConfig, requested: string | undefined, path: string): string {
  const names = Object.keys(config.inference.models);
  const listed = names.join(", ");
  if (requested === undefined) {
    if (names.length === 1) return names[0]!;
    throw new UsageError(
      `--model: required: ${path} serves ${names.length} models (${listed}); name the one whose rollout to move`,
    );
  }
  if (!names.includes(requested)) {
    throw new UsageError(
      `--model: "${requested}" is not a model of ${path}; its ${names.length === 1 ? "model" : "models"}: ${listed}`,
    );
  }
  return requested;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new StackFileError(`${path}: no such stack file (is --stack right?)`);
    }
    throw err;
  }
}

/** Reads and validates a stack file's config. */
export async function readStackConfig(path: string): Promise<ParsedStackConfig> {
  return validateStackText(await readText(path), path);
}

/** Reads a stack file and `model`'s rollout in it (see chooseModel). */
export async function readStackFile(path: string, model?: string): Promise<StackFile> {
  const text = await readText(path);
  const config = validateStackText(text, path);
  const chosen = chooseModel(config, model, path);
  const location = rolloutLocation(config, chosen);
  const written = parseDocument(text).getIn(location.keys) as { toJSON(): Rollout };
  const { gates: _gates, ...rollout } = written.toJSON() as Rollout & { gates?: unknown };
  const settings = config.inference.models[chosen]!;
  return { path, text, config, model: chosen, settings, location, rollout };
}

/** A new node in the file's style: small maps of scalars inline (`{ modelVersion: "7", weight: 10 }`). */
function styledNode(document: Document, value: unknown): Node {
  const node = document.createNode(value) as Node;
  if (isMap(node)) {
    const scalarsOnly = Object.values(value as Record<string, unknown>).every((v) => !isPlainObject(v));
    node.flow = scalarsOnly;
    if (!scalarsOnly) {
      for (const item of node.items) {
        if (isMap(item.value)) item.value.flow = true;
      }
    }
  }
  return node;
}

/**
 * Sets `after` under the rollout's `key` path, touching only what differs from `before` (nested
 * maps key by key).
 */
function editIn(
  document: Document,
  location: RolloutLocation,
  key: readonly string[],
  before: unknown,
  after: unknown,
): void {
  if (isDeepStrictEqual(before, after)) return;
  const path = [...location.keys, ...key];
  if (before === undefined && key.length === 1) {
    insertBeforeGates(document, location, key[0]!, styledNode(document, after));
  } else if (after === undefined) {
    document.deleteIn(path);
  } else if (isPlainObject(before) && isPlainObject(after)) {
    for (const inner of new Set([...Object.keys(before), ...Object.keys(after)])) {
      editIn(document, location, [...key, inner], before[inner], after[inner]);
    }
  } else {
    document.setIn(path, styledNode(document, after));
  }
}

/** A new rollout key goes before `gates` (the settings stay last, under their comment). */
function insertBeforeGates(document: Document, location: RolloutLocation, key: string, value: Node): void {
  const rollout = document.getIn(location.keys, true);
  if (!isMap(rollout)) throw new StackFileError(`${location.at} is not a mapping`);
  const gates = rollout.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === "gates");
  const pair = document.createPair(key, value);
  if (gates < 0) rollout.items.push(pair);
  else rollout.items.splice(gates, 0, pair);
}

/** The byte range of the rollout block (its keys and values, not the `rollout:` line). */
function rolloutRange(document: Document, location: RolloutLocation, path: string): [number, number] {
  const node = document.getIn(location.keys, true) as Node | undefined;
  if (!isMap(node) || node.flow || node.range === undefined || node.range === null) {
    throw new StackFileError(`${path}: ${location.at} must be a block mapping to be edited`);
  }
  return [node.range[0], node.range[2]];
}

/**
 * The stack file's text with `after` as the rollout at `file.location`; every byte outside that
 * rollout block kept, and inside it every value the step did not change.
 */
export function renderRolloutEdit(
  file: Pick<StackFile, "path" | "text" | "rollout" | "location">,
  after: Rollout,
): string {
  const { location } = file;
  const document = parseDocument(file.text);
  const [start, end] = rolloutRange(document, location, file.path);
  for (const key of EDITED_KEYS) {
    editIn(document, location, [key], file.rollout[key], after[key]);
  }
  const rendered = document.toString({ lineWidth: 0 });
  const block = keepUnchangedValues(file, after, rendered);
  return file.text.slice(0, start) + block + file.text.slice(end);
}

/** The column `offset` is at in `text`. */
function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf("\n", offset - 1) + 1);
}

/**
 * The rollout block of `rendered` with the file's own bytes for every value the step left as it
 * was: the `yaml` package renders a collection in its own spacing (`[ 2, 10 ]` for `[2, 10]`), and
 * what no step edits (the gates, an unchanged stable) stays as written.
 */
function keepUnchangedValues(
  file: Pick<StackFile, "path" | "text" | "rollout" | "location">,
  after: Rollout,
  rendered: string,
): string {
  const { location } = file;
  const renderedDocument = parseDocument(rendered);
  const [blockStart, blockEnd] = rolloutRange(renderedDocument, location, file.path);
  const was = parseDocument(file.text).getIn(location.keys, true);
  const now = renderedDocument.getIn(location.keys, true);
  let block = rendered.slice(blockStart, blockEnd);
  if (!isMap(was) || !isMap(now)) return block;
  const kept: [number, number, string][] = [];
  for (const pair of now.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const edited = (EDITED_KEYS as readonly string[]).includes(key);
    if (edited && !isDeepStrictEqual(file.rollout[key as EditedKey], after[key as EditedKey])) continue;
    const original = was.get(key, true) as Node | undefined;
    const value = pair.value as Node | null;
    if (!original?.range || !value?.range) continue;
    // Only where it starts at the same column: a block mapping's lines carry their indentation.
    if (column(file.text, original.range[0]) !== column(rendered, value.range[0])) continue;
    kept.push([value.range[0], value.range[1], file.text.slice(original.range[0], original.range[1])]);
  }
  for (const [from, to, text] of kept.sort((a, b) => b[0] - a[0])) {
    block = block.slice(0, from - blockStart) + text + block.slice(to - blockStart);
  }
  return block;
}

/** Writes `text` to `path` through a temporary file in the same directory, so readers never see half a file. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temporary, text, { encoding: "utf8", flag: "wx" });
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}
