/**
 * A CustomResourceDefinition's OpenAPI v3 schemas as the JSON Schemas kubeconform reads: one per version, named
 * as kubeconform looks them up (`<kind>-<first label of the group>-<version>.json`, lower case). Strict like the
 * Kubernetes API schemas: an object that lists its properties accepts no others unless it preserves unknown
 * fields; `x-kubernetes-int-or-string` becomes string-or-integer; `nullable` admits null.
 */

type Schema = Record<string, unknown>;

interface CrdVersion {
  name: string;
  schema?: { openAPIV3Schema?: Schema };
}

interface Crd {
  kind?: string;
  spec?: { group?: string; names?: { kind?: string }; versions?: CrdVersion[] };
}

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON Schema of one OpenAPI v3 structural schema node, its children converted too. */
export function toStrictJsonSchema(node: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' || key === 'patternProperties') {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([name, child]) => [name, toStrictJsonSchema(child)]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isObject(value)) {
      out[key] = toStrictJsonSchema(value);
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map((child: Schema) => toStrictJsonSchema(child));
    } else if (!key.startsWith('x-kubernetes-') && key !== 'nullable') {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  const preserves = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (isObject(node.properties) && node.additionalProperties === undefined && !preserves) out.additionalProperties = false;
  return out;
}

export function crdToJsonSchemas(document: unknown): Record<string, Schema> {
  const crd = document as Crd;
  if (crd?.kind !== 'CustomResourceDefinition') return {};
  const kind = crd.spec?.names?.kind;
  const group = crd.spec?.group;
  if (!kind || !group) throw new Error('CustomResourceDefinition without spec.names.kind or spec.group');
  const schemas: Record<string, Schema> = {};
  for (const version of crd.spec?.versions ?? []) {
    const schema = version.schema?.openAPIV3Schema;
    if (!schema) continue;
    schemas[`${kind}-${group.split('.')[0]}-${version.name}.json`.toLowerCase()] = toStrictJsonSchema(schema);
  }
  return schemas;
}
