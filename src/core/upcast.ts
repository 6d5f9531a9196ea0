/**
 * Upcasting: events keep the shape they were written with, and readers see the latest.
 * `upcasters[type][v]` turns data of schema version v into version v + 1; the latest
 * version of a type is one past its highest upcaster. The log is never rewritten.
 */
import { InvalidArgumentError, UpcastError } from './errors.ts';
import type { RecordedEvent } from './types.ts';

/** Per event type, per stored schema version, a step to the next version. */
export type Upcasters = Record<string, Record<number, (data: unknown) => unknown>>;

/** What to do with an event whose stored version no upcaster can bring up to date. */
export type UnknownEvents = 'error' | 'skip';

/** Brings recorded events to their latest shape; undefined means "skip this event". */
export type Upcast = (event: RecordedEvent) => RecordedEvent | undefined;

/** The upcast step, and the schema version new events of each type are written with. */
export interface Upcasting {
  upcast: Upcast;
  schemaVersionOf: (type: string) => number;
}

/** Builds the upcasting of a set of upcasters; with none, events pass through untouched. */
export function createUpcasting(upcasters: Upcasters | undefined, unknownEvents: UnknownEvents = 'error'): Upcasting {
  const latest = new Map<string, number>();
  const schemaVersionOf = (type: string): number => latest.get(type) ?? 1;
  if (upcasters === undefined || Object.keys(upcasters).length === 0) return { upcast: (e) => e, schemaVersionOf };
  for (const [type, steps] of Object.entries(upcasters)) {
    const versions = Object.keys(steps).map(Number);
    if (versions.some((v) => !Number.isSafeInteger(v) || v < 1)) {
      throw new InvalidArgumentError(`Upcasters for "${type}" must be keyed by schema versions >= 1`);
    }
    latest.set(type, Math.max(...versions) + 1);
  }
  const upcast: Upcast = (event) => {
    const target = latest.get(event.type);
    if (target === undefined || event.schemaVersion === target) return event;
    const steps = upcasters[event.type]!;
    let data = event.data;
    let version = event.schemaVersion;
    while (version < target) {
      const step = steps[version];
      if (step === undefined) break;
      try {
        data = step(data);
      } catch (e) {
        throw new UpcastError(event.type, event.schemaVersion, `Upcasting ${event.type} from schema version ${version} failed: ${String(e)}`, { cause: e });
      }
      version++;
    }
    if (version === target) return { ...event, data, schemaVersion: version };
    if (unknownEvents === 'skip') return undefined;
    throw new UpcastError(
      event.type,
      event.schemaVersion,
      version > target
        ? `Event ${event.id} (${event.type}) has schema version ${event.schemaVersion}, newer than the latest this code knows (${target})`
        : `Event ${event.id} (${event.type}) has schema version ${event.schemaVersion}, and there is no upcaster from version ${version}; add upcasters["${event.type}"][${version}] or open the store with unknownEvents: 'skip'`,
    );
  };
  return { upcast, schemaVersionOf };
}
