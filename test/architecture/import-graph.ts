/**
 * The repository's import graph, read with the TypeScript compiler's parser (no type checking, so
 * a walk over hundreds of files takes a second). An edge is anything that makes one module load
 * another: `import`/`export ... from` (type-only ones too: they still couple the layers), dynamic
 * `import("...")` with a literal, `import("...")` types, `import x = require(...)`, and worker
 * entry points written as `new URL("./worker.ts", import.meta.url)`. Relative specifiers resolve to
 * files as NodeNext + tsx resolve them (`./x.js` -> `./x.ts`); anything else is a package
 * specifier (`fastify`, `@fastify/multipart`, `node:fs`) and ends the walk there.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/** What a file's imports point at: absolute file paths, package specifiers, and what did not resolve. */
export interface ModuleImports {
  readonly files: readonly string[];
  readonly packages: readonly string[];
  /** Relative specifiers with no file behind them (the walk would otherwise miss an edge silently). */
  readonly unresolved: readonly string[];
}

/** One import chain from a root to the forbidden module it reaches: files, then the target. */
export type ImportChain = readonly string[];

const SOURCE_FILE = /\.(ts|mts|cts|tsx|js|mjs)$/;

/** The module specifiers a source text names, in order of appearance. */
export function moduleSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const literal = (node: ts.Node | undefined) => {
    if (node !== undefined && ts.isStringLiteralLike(node)) found.push(node.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      literal(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      literal(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) literal(node.argument.literal);
    else if (isModuleUrl(node)) literal(node.arguments?.[0]);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `new URL("./x.ts", import.meta.url)`: how a worker thread's entry module is named. */
function isModuleUrl(node: ts.Node): node is ts.NewExpression {
  if (!ts.isNewExpression(node) || !ts.isIdentifier(node.expression) || node.expression.text !== "URL")
    return false;
  const [first, base] = node.arguments ?? [];
  return (
    first !== undefined &&
    ts.isStringLiteralLike(first) &&
    SOURCE_FILE.test(first.text) &&
    base !== undefined &&
    ts.isPropertyAccessExpression(base) &&
    base.name.text === "url" &&
    ts.isMetaProperty(base.expression) &&
    base.expression.keywordToken === ts.SyntaxKind.ImportKeyword
  );
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The file a relative specifier names, or undefined; `./x.js` is `./x.ts` under tsx and NodeNext. */
export function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(fromFile), specifier);
  const stem = base.replace(/\.(js|mjs|cjs|jsx)$/, "");
  const typed = { ".js": [".ts", ".tsx"], ".mjs": [".mts"], ".cjs": [".cts"], ".jsx": [".tsx"] };
  const ext = path.extname(base) as keyof typeof typed;
  const candidates = [
    ...(typed[ext] ?? []).map((e) => stem + e),
    base,
    `${base}.ts`,
    path.join(base, "index.ts"),
  ];
  return candidates.find(isFile);
}

export function isRelative(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/");
}

/** Every source file under `dir` (absolute paths, sorted), skipping node_modules. */
export function sourceFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out.push(...sourceFilesUnder(full));
    } else if (SOURCE_FILE.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out.sort();
}

/** Lazily parsed import graph; `rootDir` only shortens the paths in reported chains. */
export class ImportGraph {
  private readonly parsed = new Map<string, ModuleImports>();

  constructor(readonly rootDir: string) {}

  importsOf(file: string): ModuleImports {
    let imports = this.parsed.get(file);
    if (imports === undefined) {
      const files: string[] = [];
      const packages: string[] = [];
      const unresolved: string[] = [];
      for (const specifier of moduleSpecifiers(file, readFileSync(file, "utf8"))) {
        if (!isRelative(specifier)) packages.push(specifier);
        else {
          const target = resolveRelative(file, specifier);
          if (target === undefined) unresolved.push(specifier);
          else files.push(target);
        }
      }
      // A module imported twice (a value and a type import) is one edge.
      imports = { files: [...new Set(files)], packages: [...new Set(packages)], unresolved };
      this.parsed.set(file, imports);
    }
    return imports;
  }

  /** Every file reachable from `roots`, the roots included. */
  closure(roots: Iterable<string>): Set<string> {
    const seen = new Set(roots);
    for (const file of seen) for (const next of this.importsOf(file).files) seen.add(next);
    return seen;
  }

  /**
   * Each import that crosses into a forbidden module, with the shortest chain leading to it from
   * one of `roots`. The walk goes through allowed files only and stops at the first forbidden module
   * on a path, so each row is one edge to cut; a forbidden package is a specifier, a forbidden file
   * a path.
   */
  violations(roots: Iterable<string>, isForbidden: (target: string) => boolean): ImportChain[] {
    const parent = new Map<string, string | undefined>();
    const queue: string[] = [];
    for (const root of roots) {
      if (!parent.has(root)) {
        parent.set(root, undefined);
        queue.push(root);
      }
    }
    const found: ImportChain[] = [];
    for (const file of queue) {
      const { files, packages } = this.importsOf(file);
      for (const target of [...files, ...packages]) {
        if (isForbidden(target)) found.push([...this.chainTo(file, parent), target]);
        else if (path.isAbsolute(target) && !parent.has(target)) {
          parent.set(target, file);
          queue.push(target);
        }
      }
    }
    return found;
  }

  /** `chain` as `a.ts -> b.ts -> fastify`, files relative to the root directory. */
  format(chain: ImportChain): string {
    return chain
      .map((step) => (path.isAbsolute(step) ? path.relative(this.rootDir, step) : step))
      .join(" -> ");
  }

  private chainTo(file: string, parent: ReadonlyMap<string, string | undefined>): string[] {
    const chain: string[] = [];
    for (let at: string | undefined = file; at !== undefined; at = parent.get(at)) chain.unshift(at);
    return chain;
  }
}
