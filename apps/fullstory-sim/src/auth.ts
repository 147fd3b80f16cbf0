import type { SimRole } from '@fsx/config';

export type AuthResult =
  | { ok: true; key: string; role: SimRole; realm: string }
  | { ok: false; status: 401 | 403; message: string };

/**
 * `Authorization: Basic <key>` as FullStory documents it; the base64 form Postman sends
 * (`base64(key:)`) is accepted too. Keys are `<dc>.<token>` (`na1.`, `eu1.`) or legacy, unprefixed.
 */
export function authenticate(
  header: string | undefined,
  keys: Record<string, SimRole>,
  needsAdmin: boolean,
): AuthResult {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1])
    return { ok: false, status: 401, message: 'missing or malformed Authorization header' };
  const key = resolveKey(match[1], keys);
  if (key === undefined) return { ok: false, status: 401, message: 'invalid API key' };
  const role = keys[key] as SimRole;
  if (needsAdmin && role === 'standard') {
    return {
      ok: false,
      status: 403,
      message: 'forbidden: this API requires an Admin or Architect API key',
    };
  }
  const realm = /^(na1|eu1)\./.exec(key)?.[1] ?? 'na1';
  return { ok: true, key, role, realm };
}

function resolveKey(token: string, keys: Record<string, SimRole>): string | undefined {
  if (Object.hasOwn(keys, token)) return token;
  const decoded = Buffer.from(token, 'base64').toString('utf8').replace(/:$/, '');
  return Object.hasOwn(keys, decoded) ? decoded : undefined;
}
