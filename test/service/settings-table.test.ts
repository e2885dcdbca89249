import { describe, expect, it } from "vitest";
import { z } from "zod";
import { schemaShape, secretNames, settingDocs, type SettingsTable } from "../../service/settings-table.js";

const TABLE = {
  PORT: { schema: z.coerce.number().default(8080), doc: "Port. Default `8080`." },
  TOKEN: { schema: z.string().optional(), doc: "A bearer token.", secret: true },
} satisfies SettingsTable<"PORT" | "TOKEN">;

describe("a settings table", () => {
  it("derives the zod object, the docs in the given order and the secret names", () => {
    const parsed = z.object(schemaShape(TABLE)).parse({ TOKEN: "t" });
    expect(parsed).toEqual({ PORT: 8080, TOKEN: "t" });
    const port: number = parsed.PORT; // the schemas keep their types through the shape
    expect(port).toBe(8080);
    expect(Object.entries(settingDocs(TABLE, ["TOKEN", "PORT"]))).toEqual([
      ["TOKEN", "A bearer token."],
      ["PORT", "Port. Default `8080`."],
    ]);
    expect([...secretNames(TABLE)]).toEqual(["TOKEN"]);
  });

  it("does not compile with a name missing or a name the list does not have (checked by tsc)", () => {
    const doc = "d";
    const schema = z.string();
    // @ts-expect-error TOKEN has no declaration
    const missing = { PORT: { schema, doc } } satisfies SettingsTable<"PORT" | "TOKEN">;
    // @ts-expect-error HOST is not one of the names
    const unknown = { PORT: { schema, doc }, HOST: { schema, doc } } satisfies SettingsTable<"PORT">;
    // @ts-expect-error a declaration needs its doc line
    const undocumented = { PORT: { schema } } satisfies SettingsTable<"PORT">;
    expect([missing, unknown, undocumented]).toHaveLength(3);
  });
});
