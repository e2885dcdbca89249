/**
 * A Dockerfile read into build stages and instructions, enough for the tests to check what the
 * image is made of. There is no Docker engine here: the file is checked, not built.
 */

export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
  /** For COPY/ADD: the `--flag=value` options, e.g. { from: "deps" }. */
  readonly flags: Record<string, string>;
  /** For COPY/ADD: the sources (all words but the flags and the last); otherwise the words. */
  readonly words: string[];
}

export interface Stage {
  readonly image: string;
  readonly name?: string;
  readonly instructions: Instruction[];
}

function instruction(line: string): Instruction {
  const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line.trim()) ?? [];
  const tokens = args.split(/\s+/).filter(Boolean);
  const flags: Record<string, string> = {};
  const words: string[] = [];
  for (const token of tokens) {
    const flag = /^--([\w-]+)(?:=(.*))?$/.exec(token);
    if (flag && words.length === 0) flags[flag[1]!] = flag[2] ?? "";
    else words.push(token);
  }
  return { keyword: keyword.toUpperCase(), args, flags, words };
}

/** Stages in order; instructions before the first FROM (ARG, parser directives) are dropped. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (pending === "" && line.trim() === "")) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  const stages: { image: string; name?: string; instructions: Instruction[] }[] = [];
  for (const line of logical.map(instruction)) {
    if (line.keyword === "FROM") {
      const [image = "", as, name] = line.words;
      stages.push({ image, ...(as?.toUpperCase() === "AS" && name ? { name } : {}), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(line);
    }
  }
  return stages;
}

/** COPY/ADD sources taken from the build context (not `--from` another stage or image). */
export function contextSources(stages: Stage[]): string[] {
  return stages.flatMap((stage) =>
    stage.instructions
      .filter((i) => (i.keyword === "COPY" || i.keyword === "ADD") && i.flags.from === undefined)
      .flatMap((i) => i.words.slice(0, -1)),
  );
}

/** The JSON (exec) form of ENTRYPOINT/CMD, or undefined for the shell form. */
export function execForm(inst: Instruction): string[] | undefined {
  try {
    const value: unknown = JSON.parse(inst.args);
    return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `.dockerignore` excludes a context path. Supports what ours uses: plain paths,
 * `*` within a segment, a leading `**\/`, a path matching also excluding what is under it.
 * Negations (`!`) are not supported and reported as an error rather than misread.
 */
export function isIgnored(path: string, dockerignore: string): boolean {
  const patterns = dockerignore
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (patterns.some((p) => p.startsWith("!")))
    throw new Error(".dockerignore negations are not supported here");
  const clean = path.replace(/^\.\//, "").replace(/\/$/, "");
  return patterns.some((pattern) => {
    const source = pattern
      .replace(/\/$/, "")
      .split("/")
      .map((segment) =>
        segment === "**" ? ".*" : segment.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*"),
      )
      .join("/")
      .replace(/^\.\*\//, "(?:.*/)?");
    return new RegExp(`^${source}(?:/.*)?$`).test(clean);
  });
}
