/**
 * SQLite authorizer policies: what a statement may do, decided by SQLite itself while it is
 * prepared (and re-prepared after a schema change), not by reading its text.
 *
 * - `readOnlyPolicy`: `store.query` and `watch`: reading only, and the pragmas that only
 *   report. It records the tables the statement reads, for `watch`.
 * - `fencePolicy`: projection handlers (and their `setup`): no transaction control, no
 *   ATTACH, no pragmas but those that describe a named table, and writes only to the projection's own objects; `setup` may also
 *   create objects, but never on Cairn's own tables (a trigger on `events` would let a
 *   projection forge events).
 */

/** What an authorizer callback returns. */
export const AUTH_OK = 0;
/** Refuses the statement: its prepare fails with SQLITE_AUTH. */
export const AUTH_DENY = 1;

/** Authorizer action codes (sqlite3.h). */
export const Action = {
  CREATE_INDEX: 1,
  CREATE_TABLE: 2,
  CREATE_TEMP_INDEX: 3,
  CREATE_TEMP_TABLE: 4,
  CREATE_TEMP_TRIGGER: 5,
  CREATE_TEMP_VIEW: 6,
  CREATE_TRIGGER: 7,
  CREATE_VIEW: 8,
  DELETE: 9,
  DROP_INDEX: 10,
  DROP_TABLE: 11,
  DROP_TEMP_INDEX: 12,
  DROP_TEMP_TABLE: 13,
  DROP_TEMP_TRIGGER: 14,
  DROP_TEMP_VIEW: 15,
  DROP_TRIGGER: 16,
  DROP_VIEW: 17,
  INSERT: 18,
  PRAGMA: 19,
  READ: 20,
  SELECT: 21,
  TRANSACTION: 22,
  UPDATE: 23,
  ATTACH: 24,
  DETACH: 25,
  ALTER_TABLE: 26,
  REINDEX: 27,
  ANALYZE: 28,
  CREATE_VTABLE: 29,
  DROP_VTABLE: 30,
  FUNCTION: 31,
  SAVEPOINT: 32,
  RECURSIVE: 33,
} as const;

/** An authorizer: action, then its two string arguments (empty when absent). */
export type Policy = (action: number, a1: string, a2: string) => number;

/** Names of refused actions, for error messages. */
export function actionName(action: number): string {
  const entry = Object.entries(Action).find(([, code]) => code === action);
  return entry === undefined ? `action ${action}` : entry[0].replaceAll('_', ' ');
}

/** Tables Cairn owns: no projection may write them, or define anything on them. */
export function isCairnTable(table: string): boolean {
  const t = table.toLowerCase();
  return t === 'events' || t === 'snapshots' || t.startsWith('cairn_') || t.startsWith('sqlite_');
}

/** Reading only; records the tables read into `tables`; the first refusal into `refused`. */
export function readOnlyPolicy(tables: Set<string>, refused: { what?: string }): Policy {
  return (action, a1, a2) => {
    if (action === Action.READ) {
      tables.add(a1.toLowerCase());
      return AUTH_OK;
    }
    if (action === Action.SELECT || action === Action.FUNCTION || action === Action.RECURSIVE) return AUTH_OK;
    if (action === Action.PRAGMA && isReadPragma(a1, a2)) return AUTH_OK;
    refused.what ??= `${actionName(action)}${a1 ? ` ${a1}` : ''}`;
    return AUTH_DENY;
  };
}

/** What a fenced statement may touch. */
export interface Fence {
  /** Lower-cased names of the tables (and views, indexes, triggers) the projection owns. */
  readonly owned: ReadonlySet<string>;
  /** True while the projection's `setup` runs: it may create objects (never on Cairn's tables). */
  readonly setup: boolean;
  /** The first refusal, for the error message. */
  refused?: string;
}

/** A projection's fence (see the module header). */
export function fencePolicy(fence: Fence): Policy {
  const deny = (action: number, a1: string): number => {
    fence.refused ??= `${actionName(action)}${a1 ? ` ${a1}` : ''}`;
    return AUTH_DENY;
  };
  return (action, a1, a2) => {
    switch (action) {
      case Action.READ:
      case Action.SELECT:
      case Action.FUNCTION:
      case Action.RECURSIVE:
        return AUTH_OK;
      case Action.INSERT:
      case Action.UPDATE:
      case Action.DELETE:
        // A CREATE writes the schema table; the CREATE itself is vetted by its own action.
        if (fence.setup && SCHEMA_TABLES.has(a1.toLowerCase())) return AUTH_OK;
        // Rows of the projection's own tables, or of tables its setup is creating now.
        return !isCairnTable(a1) && (fence.setup || fence.owned.has(a1.toLowerCase())) ? AUTH_OK : deny(action, a1);
      case Action.CREATE_TABLE:
      case Action.CREATE_VIEW:
      case Action.CREATE_TEMP_TABLE:
      case Action.CREATE_TEMP_VIEW:
        return fence.setup && !isCairnTable(a1) ? AUTH_OK : deny(action, a1);
      case Action.CREATE_INDEX:
      case Action.CREATE_TRIGGER:
      case Action.CREATE_TEMP_INDEX:
      case Action.CREATE_TEMP_TRIGGER:
        // a1 is the index or trigger (`sqlite_autoindex_…` for a key's own index), a2 the table it is on.
        return fence.setup && !isCairnTable(a2) ? AUTH_OK : deny(action, `${a1} ON ${a2}`);
      case Action.REINDEX:
        // CREATE INDEX on a table that has rows builds the index: SQLite reports it as a REINDEX.
        return fence.setup ? AUTH_OK : deny(action, a1);
      case Action.PRAGMA:
        // Pragmas that only describe (SQLite's session extension reads table_xinfo while a
        // handler writes); none that sets anything.
        return isReadPragma(a1, a2) ? AUTH_OK : deny(action, a1);
      default:
        return deny(action, a1);
    }
  };
}

/** True for a pragma that only reports (given no value, or the name of what to describe). */
function isReadPragma(name: string, argument: string): boolean {
  const pragma = name.toLowerCase();
  return READ_PRAGMAS.has(pragma) && (argument === '' || PRAGMAS_WITH_ARGUMENT.has(pragma));
}

const SCHEMA_TABLES = new Set(['sqlite_master', 'sqlite_temp_master', 'sqlite_schema', 'sqlite_temp_schema']);

/** Pragmas that only report; any other pragma, or one of these given a value, is refused. */
const READ_PRAGMAS = new Set([
  'application_id', 'collation_list', 'compile_options', 'data_version', 'database_list', 'encoding',
  'foreign_key_list', 'freelist_count', 'function_list', 'index_info', 'index_list', 'index_xinfo',
  'integrity_check', 'module_list', 'page_count', 'page_size', 'pragma_list', 'quick_check', 'schema_version',
  'table_info', 'table_list', 'table_xinfo', 'user_version',
]);
/** Of those, the ones whose argument names what to describe rather than a value to set. */
const PRAGMAS_WITH_ARGUMENT = new Set([
  'foreign_key_list', 'index_info', 'index_list', 'index_xinfo', 'integrity_check', 'quick_check', 'table_info',
  'table_list', 'table_xinfo',
]);
