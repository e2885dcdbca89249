/**
 * An HTTP adapter is an encapsulated fastify plugin with a name (composed in service/server/http.ts):
 * its routes and body parsers stay in its own scope, and fastify names it in errors and
 * `printPlugins()`.
 */
import type {
  FastifyBaseLogger,
  FastifyPluginAsync,
  FastifyPluginOptions,
  FastifyTypeProviderDefault,
  RawServerDefault,
} from "fastify";
import fp from "fastify-plugin";

export function httpAdapter<Options extends FastifyPluginOptions = Record<never, never>>(
  name: string,
  plugin: FastifyPluginAsync<Options>,
): FastifyPluginAsync<Options> {
  return fp<
    Options,
    RawServerDefault,
    FastifyTypeProviderDefault,
    FastifyBaseLogger,
    FastifyPluginAsync<Options>
  >(plugin, {
    name,
    fastify: "5.x",
    encapsulate: true,
  });
}
