/**
 * Named schemas ("components"): each is defined once, with an `$id` equal to its protocol package
 * type name, and everything else refers to it by `ref()`. The HTTP app registers the ones it uses as
 * shared schemas (fastify serializes with them; @fastify/swagger emits them under
 * `components.schemas`), and the AsyncAPI generator emits the socket's.
 */
import { type Static, type TSchema, type TUnsafe, Type } from '@sinclair/typebox';

/** `schema` named `name` (its `$id`). */
export const component = <T extends TSchema>(name: string, schema: T): T => ({ ...schema, $id: name }) as T;

/** A `$ref` to a component, typed as the component's static type. */
export function ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  if (!schema.$id) throw new Error('ref() needs a schema made by component()');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}

/** `T` or `null`. */
export const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
