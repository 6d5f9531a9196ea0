/**
 * Pull cursors: opaque to clients, they carry the log position (tx, global_position), the
 * server's identity (made by the first migration) and a hash of the tenant, so that a cursor
 * from another server or another tenant is refused with a clear message instead of silently
 * positioning the reader somewhere meaningless. A forged cursor gains nothing: every read is
 * confined to the caller's own tenant anyway.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../src/core/errors.ts';
import type { LogPosition } from './store/read.ts';

const VERSION = 'c1';
const MAX_XID8 = 2n ** 64n - 1n;

/** The cursor of `position`, for this server and tenant. */
export function encodeCursor(serverId: string, tenant: string, position: LogPosition): string {
  return Buffer.from(`${VERSION}|${serverId}|${tenantTag(tenant)}|${position.tx}|${position.position}`, 'utf8').toString(
    'base64url',
  );
}

/** The position of a cursor this server handed to this tenant; `INVALID_ARGUMENT` otherwise. */
export function decodeCursor(serverId: string, tenant: string, cursor: string): LogPosition {
  const parts = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8').split('|') : [];
  const [version, server, tag, tx, position] = parts;
  if (
    parts.length !== 5 ||
    version !== VERSION ||
    !/^\d{1,20}$/.test(tx ?? '') ||
    BigInt(tx!) > MAX_XID8 ||
    !/^\d{1,16}$/.test(position ?? '') ||
    !Number.isSafeInteger(Number(position))
  ) {
    throw new InvalidArgumentError('cursor: not a cursor of a Cairn sync server; pull with cursor null to start over');
  }
  if (server !== serverId) {
    throw new InvalidArgumentError(
      'cursor: this cursor comes from another sync server (another database); pull with cursor null to start over',
    );
  }
  if (tag !== tenantTag(tenant)) throw new InvalidArgumentError('cursor: this cursor belongs to another tenant');
  return { tx: tx!, position: Number(position) };
}

function tenantTag(tenant: string): string {
  return createHash('sha256').update(tenant, 'utf8').digest('base64url').slice(0, 16);
}
