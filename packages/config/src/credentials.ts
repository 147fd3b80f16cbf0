import type { z } from 'zod';

/**
 * FullStory API keys by credential name. Jobs carry only the name; each process resolves the key
 * from its own configuration, so keys never enter Redis, logs or Bull Board.
 */
export type Credentials = Readonly<Record<string, string>>;

export const DEFAULT_CREDENTIAL = 'default';

const credentialName = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parses `FULLSTORY_CREDENTIALS` (`name=key,name2=key2`) plus `FULLSTORY_API_KEY` (the `default`
 * credential). Reports problems without echoing any key.
 */
export function parseCredentialList(list: string, ctx: z.RefinementCtx): Credentials {
  const credentials: Record<string, string> = {};
  for (const [index, entry] of list.split(',').entries()) {
    if (entry.trim() === '') continue;
    const separator = entry.indexOf('=');
    const name = separator > 0 ? entry.slice(0, separator).trim() : '';
    const key = separator > 0 ? entry.slice(separator + 1).trim() : '';
    if (!credentialName.test(name) || key === '') {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${index + 1} must look like name=apiKey (name: letters, digits, _ . -)`,
      });
      continue;
    }
    credentials[name] = key;
  }
  return credentials;
}
