/**
 * Moving a store's events in and out as NDJSON: one recorded event a line, in global order.
 *
 * - Export pages through the log (a page of `EXPORT_PAGE` events per pull of the stream),
 *   so it never holds the log in memory, and writes each event's data and metadata as the
 *   JSON text they are stored as: no upcasting, the stored `schemaVersion` kept.
 * - Import reads lines from a string, a Blob or a byte stream, checks each line as it comes
 *   (a bad line is an error naming it), and sends them in batches of `IMPORT_BATCH` lines;
 *   each batch is one write (`src/core/import-events.ts`): idempotent by event id, and all
 *   of it or nothing. Batches before a bad one stay imported, so importing the same source
 *   again after fixing it skips them.
 */
import { encodeCursor } from '../core/cursor.ts';
import { encodeEvent } from '../core/encode.ts';
import { CairnError, InvalidArgumentError, InvalidEventError, isInvalidEvent, messageOf } from '../core/errors.ts';
import type { ImportedEvent, ImportResult } from '../core/import-events.ts';
import type { StoredEvent } from '../core/records.ts';
import type { EventFilter } from '../core/types.ts';
import { validateRoutingKey, validateStream } from '../core/validate.ts';
import type { Backend } from './ports.ts';

/** Events read per page while exporting. */
export const EXPORT_PAGE = 1000;
/** Lines sent per batch while importing. */
export const IMPORT_BATCH = 1000;

/** Options of `store.export`. */
export interface ExportOptions {
  /** Only the events matching this filter (all by default). */
  filter?: EventFilter;
}

/** How an import is going, after each batch. */
export interface ImportProgress extends ImportResult {
  /** Lines read so far (blank lines included). */
  lines: number;
}

/** Options of `store.import`. */
export interface ImportOptions {
  /** Called after each batch is written. */
  onProgress?: (progress: ImportProgress) => void;
}

/** What `store.import` reads. */
export type ImportSource = string | Blob | ReadableStream<Uint8Array>;

/** The matching events as NDJSON, read from the store a page at a time as the stream is pulled. */
export function exportEvents(backend: Backend, filter: EventFilter): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const page = await backend.read(filter, { first: EXPORT_PAGE, after: encodeCursor(after) });
        if (page.events.length > 0) {
          controller.enqueue(encoder.encode(page.events.map(exportLine).join('')));
          after = page.events.at(-1)!.position;
        }
        if (!page.hasNextPage || page.events.length === 0) controller.close();
      },
    },
    { highWaterMark: 1 },
  );
}

/** Reads NDJSON recorded events from `source` into the store. */
export async function importEvents(
  backend: Backend,
  source: ImportSource,
  maxEventBytes: number,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const total: ImportProgress = { imported: 0, skipped: 0, lines: 0 };
  let batch: ImportedEvent[] = [];
  let batchLines: number[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    let result: ImportResult;
    try {
      result = await backend.importEvents(batch);
    } catch (e) {
      // The engine names the event by its index in the batch: name its line instead.
      if (isInvalidEvent(e) && e.index !== undefined) {
        const line = batchLines[e.index] ?? 0;
        throw new InvalidEventError(`Line ${line}: ${e.message.replace(/^Event \d+:?\s*/, '')}`, line);
      }
      throw e;
    }
    total.imported += result.imported;
    total.skipped += result.skipped;
    batch = [];
    batchLines = [];
    options.onProgress?.({ ...total });
  };
  for await (const line of lines(source)) {
    total.lines++;
    if (line.trim() === '') continue;
    batch.push(parseLine(line, total.lines, maxEventBytes));
    batchLines.push(total.lines);
    if (batch.length >= IMPORT_BATCH) await flush();
  }
  await flush();
  return { imported: total.imported, skipped: total.skipped };
}

/** One stored event as an NDJSON line, its data and metadata spliced in as the JSON text they are. */
function exportLine(e: StoredEvent): string {
  return (
    `{"id":${JSON.stringify(e.id)},"stream":${JSON.stringify(e.stream)},"category":${JSON.stringify(e.category)},` +
    `"version":${e.version},"position":${e.position},"type":${JSON.stringify(e.type)},"data":${e.data},` +
    `"metadata":${e.metadata ?? '{}'},"routingKey":${JSON.stringify(e.routingKey)},"timestamp":${e.timestamp},` +
    `"schemaVersion":${e.schemaVersion}}\n`
  );
}

/** Checks one line and encodes it as the engine takes it; errors name the line. */
function parseLine(text: string, line: number, maxEventBytes: number): ImportedEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(`Line ${line} is not JSON: ${messageOf(e)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidEventError(`Line ${line} is not a recorded event (an object)`, line);
  }
  const r = value as Record<string, unknown>;
  try {
    validateStream(r.stream);
    const metadata = r.metadata;
    const empty = typeof metadata === 'object' && metadata !== null && Object.keys(metadata).length === 0;
    if (typeof r.id !== 'string') throw new InvalidEventError('it has no id');
    const encoded = encodeEvent(
      {
        type: r.type as string,
        data: r.data,
        id: r.id,
        ...(empty || metadata === undefined || metadata === null ? {} : { metadata: metadata as Record<string, unknown> }),
        ...(r.schemaVersion === undefined ? {} : { schemaVersion: r.schemaVersion as number }),
      },
      0,
      () => '',
      maxEventBytes,
    );
    if (!Number.isSafeInteger(r.version) || (r.version as number) < 1) throw new InvalidEventError('its version is not an integer >= 1');
    if (!Number.isSafeInteger(r.timestamp) || (r.timestamp as number) < 0) throw new InvalidEventError('its timestamp is not a number of ms >= 0');
    const routingKey = r.routingKey === null || r.routingKey === undefined ? null : validateRoutingKey(r.routingKey);
    return { ...encoded, stream: r.stream, version: r.version as number, routingKey, timestamp: r.timestamp as number };
  } catch (e) {
    if (!(e instanceof CairnError)) throw e;
    throw new InvalidEventError(`Line ${line}: ${e.message.replace(/^Event 0:?\s*/, '')}`, line);
  }
}

/** The lines of a string, a Blob or a stream of UTF-8 bytes, without their line breaks. */
async function* lines(source: ImportSource): AsyncGenerator<string> {
  if (typeof source === 'string') {
    yield* source.split(/\r?\n/);
    return;
  }
  let stream: ReadableStream<Uint8Array>;
  if (typeof Blob === 'function' && source instanceof Blob) stream = source.stream();
  else if (typeof (source as ReadableStream | null)?.getReader === 'function') stream = source as ReadableStream<Uint8Array>;
  else throw new InvalidArgumentError('store.import reads NDJSON from a string, a Blob or a ReadableStream of bytes');
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let rest = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      rest += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const parts = rest.split(/\r?\n/);
      rest = parts.pop() ?? '';
      yield* parts;
      if (done) break;
    }
    if (rest !== '') yield rest;
  } finally {
    reader.releaseLock();
  }
}
