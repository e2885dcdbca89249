import { ConfigError, loadConfig } from "../../service/config.js";

/** The issues `loadConfig` reports for `env`; fails the test when the settings are accepted. */
export function configIssues(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("expected a ConfigError");
}
