/**
 * Command lines, read one way for every policy: how the kubelet reads `$(VAR)` in a container's
 * command, args and env values, and which arguments carry a credential. container-no-plaintext-secrets
 * reads a container's command and args with it; helm-values-no-inline-credentials reads every list
 * of strings in chart values (extraArgs and the like) with it.
 */
import { isCredentialText, isSecretLikeKey, secretValueKind } from "./values.js";

/** A piece of text as the kubelet reads it: literal text, or a `$(NAME)` reference. */
export type Segment = { readonly text: string } | { readonly reference: string };

/**
 * `text` as the kubelet reads command, args and env values (k8s.io/kubernetes
 * third_party/forked/golang/expansion): left to right, `$$` is one literal `$` (so `$$(VAR)` is the
 * text `$(VAR)` while `$$$(VAR)` is a `$` and then a reference), `$(NAME)` is a reference up to the
 * first `)`, and any other `$` (alone, last, or `$(` never closed) is text. Every reading of
 * references in this pack goes through here, so expanding and finding references cannot disagree.
 */
export function kubeletSegments(text: string): Segment[] {
  const segments: Segment[] = [];
  let literal = "";
  for (let i = 0; i < text.length; i++) {
    const next = text[i + 1];
    if (text[i] !== "$" || next === undefined) {
      literal += text[i];
    } else if (next === "(" && text.indexOf(")", i + 2) >= 0) {
      const close = text.indexOf(")", i + 2);
      if (literal !== "") segments.push({ text: literal });
      literal = "";
      segments.push({ reference: text.slice(i + 2, close) });
      i = close;
    } else {
      // `$$` is one `$`; `$x` and an unclosed `$(` are kept as they are.
      literal += next === "$" ? "$" : `$${next}`;
      i++;
    }
  }
  if (literal !== "") segments.push({ text: literal });
  return segments;
}

/**
 * `segments` written back as one string: text as it is, each reference left as `$(NAME)`, so a
 * value shape ({@link secretValueKind}) is judged on what the program receives once every known
 * variable is expanded, and a reference still reads as one.
 */
export function kubeletText(segments: readonly Segment[]): string {
  return segments.map((segment) => ("text" in segment ? segment.text : `$(${segment.reference})`)).join("");
}

/** The names `text` references as `$(VAR)`, as {@link kubeletSegments} reads it. */
export function variableReferences(text: string): string[] {
  return kubeletSegments(text).flatMap((segment) => ("reference" in segment ? [segment.reference] : []));
}

/**
 * `segments` with each reference `resolve` knows replaced by the segments it stands for (a
 * variable's own value, already expanded: the kubelet does not expand a value twice); the others
 * stay references.
 */
export function expandSegments(
  segments: readonly Segment[],
  resolve: (name: string) => readonly Segment[] | undefined,
): Segment[] {
  const expanded: Segment[] = [];
  for (const segment of segments.flatMap((s) => ("reference" in s ? (resolve(s.reference) ?? [s]) : [s]))) {
    const last = expanded[expanded.length - 1];
    if ("text" in segment && last !== undefined && "text" in last) {
      expanded[expanded.length - 1] = { text: last.text + segment.text };
    } else {
      expanded.push(segment);
    }
  }
  return expanded;
}

/**
 * Whether a value holds literal text that may be a credential ({@link isCredentialText}): a value
 * made only of references (with at most spaces between them) carries none of its own.
 */
export function holdsCredentialText(segments: readonly Segment[]): boolean {
  return segments.some((segment) => "text" in segment && isCredentialText(segment.text));
}

/**
 * A literal credential as a flag's value: no reference left unexpanded (a Secret-backed one is the
 * expansion rule's), not another flag, and text that may be a credential (not empty, true or false,
 * a reference spelling such as the `$(VAR)` text `$$(VAR)` leaves, or a single absolute path:
 * `--token /run/secrets/token` names where the secret is; `--token-ttl 3600` is told apart by its name).
 */
export function isLiteralFlagValue(segments: readonly Segment[]): boolean {
  if (segments.some((segment) => "reference" in segment)) return false;
  const text = kubeletText(segments);
  return !text.startsWith("-") && isCredentialText(text);
}

/** `--client-secret=...`-style flags carrying a value inline. */
const FLAG_WITH_VALUE = /^--?([A-Za-z0-9_.-]+)=(.+)$/;
/** `--client-secret` alone: its value is the next argument. */
const BARE_FLAG = /^--?([A-Za-z0-9_.-]+)$/;

/** A credential an argv carries. */
export interface ArgvCredential {
  /** The argument's index; for a `pair`, the flag's (its value is the argument after it). */
  readonly index: number;
  /**
   * `pair`: a bare secret-named flag (one or two dashes) whose next argument is a literal;
   * `inline`: `--secret-named-flag=literal`; `shape`: an argument holding a value shape.
   */
  readonly form: "pair" | "inline" | "shape";
  /** For `shape`, what the argument holds, as {@link secretValueKind} names it. */
  readonly kind?: string;
}

/**
 * The credentials `argv` carries: first every `pair`, then argument by argument an `inline` flag or,
 * failing that, a `shape`. A flag's name is judged by isSecretLikeKey, its value by
 * {@link isLiteralFlagValue} and an argument's shape by secretValueKind, each once `read` has turned
 * it into what the program receives (by default the kubelet's reading with no variable known, so
 * every `$(VAR)` stays a reference). Items that are not strings are skipped, and a bare flag before
 * one has no value.
 */
export function argvCredentials(
  argv: readonly unknown[],
  read: (value: string) => readonly Segment[] = kubeletSegments,
): ArgvCredential[] {
  const pairs: ArgvCredential[] = [];
  const single: ArgvCredential[] = [];
  argv.forEach((argument, index) => {
    if (typeof argument !== "string") return;
    const bare = BARE_FLAG.exec(argument);
    const next = argv[index + 1];
    if (bare && isSecretLikeKey(bare[1]!) && typeof next === "string" && isLiteralFlagValue(read(next))) {
      pairs.push({ index, form: "pair" });
    }
    const flag = FLAG_WITH_VALUE.exec(argument);
    // Shapes too are judged on what the program receives: `:$(PW)@` of a plain PW is its text.
    const kind = secretValueKind(kubeletText(read(argument)));
    if (flag && isSecretLikeKey(flag[1]!) && isLiteralFlagValue(read(flag[2]!))) {
      single.push({ index, form: "inline" });
    } else if (kind) {
      single.push({ index, form: "shape", kind });
    }
  });
  return [...pairs, ...single];
}

/** The flags {@link argvCredentials} reports, as a policy's catalog entry names them. */
export const ARGV_FLAG_SPELLINGS =
  "an argument `--flag=VALUE`, or a bare `--flag` followed by VALUE as the next argument (one or two dashes), whose flag name is secret-like and whose VALUE is a literal (no `$(VAR)` reference left, not another flag, and text that may be a credential as above)";
