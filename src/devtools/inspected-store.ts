/** The part of a store's API the inspector reads. */
import type { Store } from '../client/index.ts';

/** The store API the inspector reads; every `Store`, whatever its event map, has it. */
export type InspectedStore = Pick<
  Store,
  | 'name'
  | 'storage'
  | 'role'
  | 'onRoleChange'
  | 'onCommit'
  | 'read'
  | 'head'
  | 'query'
  | 'watch'
  | 'projections'
  | 'onProjectionProgress'
  | 'consumers'
  | 'deadLetters'
  | 'sync'
  | 'estimate'
  | 'persist'
>;
