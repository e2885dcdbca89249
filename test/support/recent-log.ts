import type { LogSink } from "../../stack/local/process.js";

/** A log sink keeping the stack's last `max` lines in `lines`, for a failing test to show. */
export function recentLog(lines: string[], max = 400): LogSink {
  return (line) => {
    lines.push(line);
    if (lines.length > max) lines.shift();
  };
}
