/** Structural equality of JSON values, ignoring object key order (patches reorder keys). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]));
}

/** Paths (dotted) present in `input` but absent from `output`: the fields a structural schema pruned. */
export function prunedPaths(input: unknown, output: unknown, prefix = ''): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    if (Array.isArray(input) && Array.isArray(output)) {
      return input.flatMap((v, i) => prunedPaths(v, output[i], `${prefix}[${i}]`));
    }
    return [];
  }
  if (typeof output !== 'object' || output === null) return [];
  const out = output as Record<string, unknown>;
  const paths: string[] = [];
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (!Object.hasOwn(out, k)) paths.push(p);
    else paths.push(...prunedPaths(v, out[k], p));
  }
  return paths;
}
