/** Which models `npm run bench -- --models ...` measures. Pure. */

export const MODEL_GROUPS = ['builtin', 'third-party'] as const;
export type ModelGroup = (typeof MODEL_GROUPS)[number];

/**
 * A comma-separated list of groups, or `all`: builtin (Fashion-MNIST v1, MobileNetV2-224) and third-party
 * (text-orientation, text-direction). Default: builtin.
 */
export function parseModelGroups(value: string | undefined): Set<ModelGroup> {
  if (value === undefined) return new Set(['builtin']);
  if (value.trim() === 'all') return new Set(MODEL_GROUPS);
  const parts = value.split(',').map((p) => p.trim());
  const unknown = parts.filter((p) => !(MODEL_GROUPS as readonly string[]).includes(p));
  if (parts.length === 0 || unknown.length > 0 || parts.includes('')) {
    throw new RangeError(`--models ${value}: expected all or a comma-separated list of ${MODEL_GROUPS.join(', ')}`);
  }
  return new Set(parts as ModelGroup[]);
}
