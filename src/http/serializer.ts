/**
 * The serializer of HTTP answers: fastify's own (fast-json-stringify, compiled from each route's
 * response schema with the shared components), with one change to the components it compiles from.
 *
 * A stream event's or push result's `record` is `null` or one of four records (`AnyRecord`, an
 * `anyOf`). fast-json-stringify picks an `anyOf` branch by validating the value against each branch
 * in turn — uuid, date and money patterns included — which made a page of 500 stream events 2.6×
 * slower to write than JSON.stringify (bench:serialize). Here `record` is written as one nullable
 * object that has every field of the four records, each optional: chosen by `typeof`, it writes the
 * fields a record has and nothing that is not a record field. The documents keep `AnyRecord`, and
 * the tests check every answer against it.
 */
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { TSchema } from '@sinclair/typebox';
import { RecordFields } from '../protocol/wire.js';

const WITH_RECORD = ['StreamEvent', 'PushResult'];
const record = { ...RecordFields, type: ['object', 'null'] };
const fastJsonStringify = SerializerSelector();

type RouteCompiler = ReturnType<typeof fastJsonStringify>;
type Serialize = ReturnType<RouteCompiler>;

/**
 * Compiled serializers, kept for the process by their inputs (the shared components, the options,
 * the route's schema): compiling every route's answers costs ~1 s of CPU when an app is first
 * ready, once per process in production but once per server in the tests, which start hundreds.
 * A compiled serializer depends on nothing but those inputs.
 */
const compiled = new Map<string, Map<string, Serialize>>();

/** fastify's `schemaController.compilersFactory.buildSerializer`. */
export function buildSerializer(externalSchemas: unknown, options?: Parameters<typeof fastJsonStringify>[1]): RouteCompiler {
  const schemas = { ...(externalSchemas as Record<string, TSchema>) };
  for (const name of WITH_RECORD) {
    const schema = schemas[name];
    if (schema?.properties) schemas[name] = { ...schema, properties: { ...schema.properties, record } };
  }
  const compile = fastJsonStringify(schemas, options);
  const inputs = JSON.stringify([schemas, options ?? null]);
  const cache = compiled.get(inputs) ?? new Map<string, Serialize>();
  compiled.set(inputs, cache);
  return (route) => {
    const key = JSON.stringify(route.schema);
    let serialize = cache.get(key);
    if (!serialize) {
      serialize = compile(route);
      cache.set(key, serialize);
    }
    return serialize;
  };
}
