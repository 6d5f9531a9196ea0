/**
 * Who is calling. The server asks the application's `authorize` once per request; it answers
 * with the caller's tenant and, optionally, which streams the caller may read and write.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** What `authorize` gets to decide on. */
export interface AuthorizeRequest {
  method: string;
  /** The full request URL. */
  url: string;
  headers: Headers;
  /** The token of an `Authorization: Bearer <token>` header, or null. */
  token: string | null;
}

/** What a caller may do. Absent checks allow everything within the tenant. */
export interface SyncAccess {
  /** Every read and write is confined to this tenant: tenants never see each other. */
  tenant: string;
  /** Whether the caller may pull this stream's events (the others are skipped). */
  canRead?(stream: string): boolean;
  /** Whether the caller may push to this stream (a push touching any other is refused whole). */
  canWrite?(stream: string): boolean;
}

/** Decides who a request comes from; null (or a throw) answers 401 UNAUTHORIZED. */
export type Authorize = (request: AuthorizeRequest) => Promise<SyncAccess | null> | SyncAccess | null;

/** The tenant of a server without `authorize`, and of the CLI's shared token. */
export const DEFAULT_TENANT = 'default';

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(authorization: string | null | undefined): string | null {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match === null ? null : match[1]!;
}

/**
 * One shared secret: a request bearing it is allowed everything in `tenant`. The comparison
 * takes the same time whatever the token (both sides are hashed to equal lengths first).
 */
export function sharedToken(secret: string, tenant: string = DEFAULT_TENANT): Authorize {
  if (secret === '') throw new Error('The shared token must not be empty');
  const expected = digest(secret);
  return (request) => (request.token !== null && timingSafeEqual(digest(request.token), expected) ? { tenant } : null);
}

/** Everyone, in the default tenant. */
export const openAccess: Authorize = () => ({ tenant: DEFAULT_TENANT });

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
