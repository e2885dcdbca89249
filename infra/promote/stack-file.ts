/**
 * Reads and edits Pulumi.<stack>.yaml. The rollout is edited through the `yaml` package's
 * Document API (comments and key order survive), and only the bytes of the
 * `plinth:inference.rollout` block are replaced: the rest of the file stays byte for byte as it
 * was, whatever its flow-collection spacing. The result is validated with the stack config schema
 * before it is written, atomically (temporary file, then rename).
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parseDocument, type Document, type Node } from "yaml";
import { decodeConfigValue, parseStackConfig } from "../config/load.js";
import { SECRET_KEYS, type ParsedStackConfig } from "../config/schema.js";
import { RENDER_SECRETS } from "../render/stack-config.js";
import type { Rollout } from "./transitions.js";

const INFERENCE_KEY = "plinth:inference";
const ROLLOUT_PATH = ["config", INFERENCE_KEY, "rollout"] as const;
/** The rollout keys a step may change; `gates` is settings and stays as written. */
const EDITED_KEYS = ["strategy", "stable", "candidate", "blueGreen"] as const;

/** A stack file that cannot be read, parsed or edited; the message starts with its path. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

export interface StackFile {
  readonly path: string;
  readonly text: string;
  /** The validated config (schema defaults applied, secrets as placeholders). */
  readonly config: ParsedStackConfig;
  /** The rollout as written in the file (no defaults), what a step edits. */
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

export async function readStackFile(path: string): Promise<StackFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new StackFileError(`${path}: no such stack file (is --stack right?)`);
    }
    throw err;
  }
  const config = validateStackText(text, path);
  const written = parseDocument(text).getIn(ROLLOUT_PATH) as { toJSON(): Rollout };
  const { gates: _gates, ...rollout } = written.toJSON() as Rollout & { gates?: unknown };
  return { path, text, config, rollout };
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

/** Sets `after` under `path`, touching only what differs from `before` (nested maps key by key). */
function editIn(document: Document, path: readonly string[], before: unknown, after: unknown): void {
  if (isDeepStrictEqual(before, after)) return;
  if (before === undefined && path.length === ROLLOUT_PATH.length + 1) {
    insertBeforeGates(document, path.at(-1)!, styledNode(document, after));
  } else if (after === undefined) {
    document.deleteIn(path);
  } else if (isPlainObject(before) && isPlainObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      editIn(document, [...path, key], before[key], after[key]);
    }
  } else {
    document.setIn(path, styledNode(document, after));
  }
}

/** A new rollout key goes before `gates` (the settings stay last, under their comment). */
function insertBeforeGates(document: Document, key: string, value: Node): void {
  const rollout = document.getIn(ROLLOUT_PATH, true);
  if (!isMap(rollout)) throw new StackFileError("plinth:inference.rollout is not a mapping");
  const gates = rollout.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === "gates");
  const pair = document.createPair(key, value);
  if (gates < 0) rollout.items.push(pair);
  else rollout.items.splice(gates, 0, pair);
}

/** The byte range of the rollout block (its keys and values, not the `rollout:` line). */
function rolloutRange(document: Document, path: string): [number, number] {
  const node = document.getIn(ROLLOUT_PATH, true) as Node | undefined;
  if (!isMap(node) || node.flow || node.range === undefined || node.range === null) {
    throw new StackFileError(`${path}: plinth:inference.rollout must be a block mapping to be edited`);
  }
  return [node.range[0], node.range[2]];
}

/** The stack file's text with `after` as its rollout; every byte outside the rollout block kept. */
export function renderRolloutEdit(
  file: Pick<StackFile, "path" | "text" | "rollout">,
  after: Rollout,
): string {
  const document = parseDocument(file.text);
  const [start, end] = rolloutRange(document, file.path);
  for (const key of EDITED_KEYS) {
    editIn(document, [...ROLLOUT_PATH, key], file.rollout[key], after[key]);
  }
  const rendered = document.toString({ lineWidth: 0 });
  const [newStart, newEnd] = rolloutRange(parseDocument(rendered), file.path);
  return file.text.slice(0, start) + rendered.slice(newStart, newEnd) + file.text.slice(end);
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
