import { isObject, propertyViolations } from './properties.js';
import { type ApiResult, fail, invalid, ok } from './results.js';

type Json = Record<string, unknown>;

export interface SimUser {
  id: string;
  uid?: string;
  display_name?: string;
  email?: string;
  properties: Json;
  createdAt: string;
  updatedAt: string;
  /** How many writes reached this user: tests check nothing was applied twice. */
  writes: number;
}

export interface SimEvent {
  name: string;
  timestamp: string;
  properties: Json;
  userId?: string;
  sessionId?: string;
  receivedAt: string;
}

const STRING_FIELDS = ['uid', 'display_name', 'email'] as const;

function userFieldViolations(body: Json) {
  const details = STRING_FIELDS.filter(
    (f) => body[f] !== undefined && (typeof body[f] !== 'string' || body[f] === ''),
  ).map((field) => ({ field, description: 'must be a non-empty string' }));
  return [...details, ...propertyViolations(body.properties, body.schema)];
}

/** One organisation's users and events (an API key stands for its organisation here). */
export class ServerData {
  readonly users = new Map<string, SimUser>();
  readonly usersByUid = new Map<string, string>();
  readonly events: SimEvent[] = [];
  private nextId = 1;

  constructor(private readonly idBase: number) {}

  private newUser(uid: string | undefined): SimUser {
    const now = new Date().toISOString();
    const user: SimUser = {
      id: String(this.idBase + this.nextId++),
      ...(uid ? { uid } : {}),
      properties: {},
      createdAt: now,
      updatedAt: now,
      writes: 0,
    };
    this.users.set(user.id, user);
    if (uid) this.usersByUid.set(uid, user.id);
    return user;
  }

  /** Properties merge into what is there; on a collision the most recent value wins. */
  private apply(user: SimUser, body: Json): void {
    if (typeof body.display_name === 'string') user.display_name = body.display_name;
    if (typeof body.email === 'string') user.email = body.email;
    if (isObject(body.properties)) Object.assign(user.properties, body.properties);
    user.updatedAt = new Date().toISOString();
    user.writes += 1;
  }

  /** `POST /v2/users`: an upsert keyed by `uid` (an anonymous user without one). */
  upsertUser(body: unknown): ApiResult {
    if (!isObject(body)) return invalid([{ field: '', description: 'body must be a JSON object' }]);
    const details = userFieldViolations(body);
    if (details.length > 0) return invalid(details);
    const uid = body.uid as string | undefined;
    const existing = uid ? this.usersByUid.get(uid) : undefined;
    const user = (existing && this.users.get(existing)) || this.newUser(uid);
    this.apply(user, body);
    return ok({ id: user.id });
  }

  /** `POST /v2/users/{id}`: an update; a uid, once set, can never change. */
  updateUser(id: string, body: unknown): ApiResult {
    const user = this.users.get(id);
    if (!user) return fail(404, 'resource_not_found', 'user not found');
    if (!isObject(body)) return invalid([{ field: '', description: 'body must be a JSON object' }]);
    const details = userFieldViolations(body);
    if (details.length > 0) return invalid(details);
    const uid = body.uid as string | undefined;
    if (uid !== undefined && user.uid !== undefined && uid !== user.uid)
      return fail(400, 'invalid_argument', 'uid is immutable once set', [
        { field: 'uid', description: `is already ${user.uid} for this user` },
      ]);
    if (uid !== undefined && user.uid === undefined) {
      if (this.usersByUid.has(uid))
        return fail(400, 'invalid_argument', `uid ${uid} belongs to another user`, [
          { field: 'uid', description: 'belongs to another user' },
        ]);
      user.uid = uid;
      this.usersByUid.set(uid, user.id);
    }
    this.apply(user, body);
    return ok({ id: user.id });
  }

  getUser(id: string): ApiResult {
    const user = this.users.get(id);
    return user ? ok(userView(user)) : fail(404, 'resource_not_found', 'user not found');
  }

  /** `GET /v2/users`: by uid, or every user, a page at a time (`page_token` is an offset). */
  listUsers(query: { uid?: string; page_token?: string; page_size?: string }): ApiResult {
    const all = query.uid
      ? [this.usersByUid.get(query.uid)].flatMap((id) => (id ? [this.users.get(id)!] : []))
      : [...this.users.values()];
    const offset = Number(query.page_token ?? 0) || 0;
    const size = Math.min(1000, Math.max(1, Number(query.page_size ?? 100) || 100));
    const page = all.slice(offset, offset + size);
    return ok({
      results: page.map(userView),
      // FullStory sends the total as a string.
      total_records: String(all.length),
      ...(offset + size < all.length ? { next_page_token: String(offset + size) } : {}),
    });
  }

  /** `POST /v2/events`: a custom event, tied to a user by uid or id, or to a session. */
  createEvent(body: unknown): ApiResult {
    if (!isObject(body)) return invalid([{ field: '', description: 'body must be a JSON object' }]);
    if (typeof body.name !== 'string' || body.name === '')
      return fail(400, 'required_field', 'name is required', [
        { field: 'name', description: 'is required' },
      ]);
    const details = propertyViolations(body.properties, body.schema);
    if (body.timestamp !== undefined && Number.isNaN(Date.parse(String(body.timestamp))))
      details.push({ field: 'timestamp', description: 'must be an RFC 3339 timestamp' });
    const session = isObject(body.session) ? body.session : undefined;
    const who = isObject(body.user) ? body.user : undefined;
    if (session?.use_most_recent === true && !who)
      details.push({ field: 'session.use_most_recent', description: 'needs user' });
    if (typeof session?.id === 'string' && who)
      details.push({ field: 'user', description: 'must not be given with session.id' });
    if (who && typeof who.uid !== 'string' && typeof who.id !== 'string')
      details.push({ field: 'user', description: 'needs uid or id' });
    if (details.length > 0) return invalid(details);

    let userId: string | undefined;
    if (typeof who?.id === 'string') {
      if (!this.users.has(who.id)) return fail(404, 'resource_not_found', 'user not found');
      userId = who.id;
    } else if (typeof who?.uid === 'string') {
      userId = this.usersByUid.get(who.uid) ?? this.newUser(who.uid).id;
    }
    const now = new Date().toISOString();
    this.events.push({
      name: body.name,
      timestamp: typeof body.timestamp === 'string' ? body.timestamp : now,
      properties: isObject(body.properties) ? body.properties : {},
      ...(userId ? { userId } : {}),
      ...(typeof session?.id === 'string' ? { sessionId: session.id } : {}),
      receivedAt: now,
    });
    return ok({});
  }
}

export function userView(user: SimUser) {
  return {
    id: user.id,
    ...(user.uid ? { uid: user.uid } : {}),
    ...(user.display_name ? { display_name: user.display_name } : {}),
    ...(user.email ? { email: user.email } : {}),
    properties: user.properties,
    type: user.uid ? 'identified' : 'anonymous',
  };
}
