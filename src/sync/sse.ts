/**
 * Server-Sent Events, read with `fetch` (so that an `Authorization` header can be sent,
 * which EventSource cannot do). The parser follows the HTML standard's event stream
 * interpretation: lines end in CRLF, LF or CR; `:` starts a comment; `data` lines join with
 * '\n'; a blank line dispatches; an event with no data is not dispatched.
 * No Node or DOM dependency beyond TextDecoder and ReadableStream.
 */

/** One dispatched event. `event` is 'message' when the server named none. */
export interface ServerSentEvent {
  event: string;
  data: string;
  /** The last event id the stream set, if any. */
  id: string | undefined;
}

/** Parses an event stream fed in pieces of text, calling `onEvent` for each complete event. */
export class SseParser {
  readonly #onEvent: (event: ServerSentEvent) => void;
  #buffer = '';
  #started = false;
  #event = '';
  #data: string[] = [];
  #id: string | undefined = undefined;
  /** The last `retry:` the server sent, in milliseconds. */
  retry: number | undefined = undefined;

  constructor(onEvent: (event: ServerSentEvent) => void) {
    this.#onEvent = onEvent;
  }

  /** Feeds the next piece of decoded text. */
  feed(text: string): void {
    let chunk = this.#buffer + text;
    if (!this.#started && chunk.length > 0) {
      this.#started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    let start = 0;
    for (;;) {
      const cr = chunk.indexOf('\r', start);
      const lf = chunk.indexOf('\n', start);
      if (cr === -1 && lf === -1) break;
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF: wait for the next piece.
        if (cr === chunk.length - 1) break;
        end = cr;
        next = chunk.charCodeAt(cr + 1) === 0x0a ? cr + 2 : cr + 1;
      } else {
        end = lf;
        next = lf + 1;
      }
      this.#line(chunk.slice(start, end));
      start = next;
    }
    this.#buffer = chunk.slice(start);
  }

  /** Ends the stream: a final event without its blank line is dropped, as the standard says. */
  end(): void {
    if (this.#buffer.endsWith('\r')) this.#line(this.#buffer.slice(0, -1));
    this.#buffer = '';
    this.#data = [];
    this.#event = '';
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0) {
        this.#onEvent({ event: this.#event === '' ? 'message' : this.#event, data: this.#data.join('\n'), id: this.#id });
      }
      this.#data = [];
      this.#event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data.push(value);
        break;
      case 'id':
        if (!value.includes('\u0000')) this.#id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }
}

/**
 * Reads the events of a response body (`(await fetch(url, { headers })).body`) until the
 * stream ends or `signal` aborts.
 *
 * @example
 * const res = await fetch(`${url}/v1/live`, { headers: { authorization: `Bearer ${token}` }, signal });
 * for await (const e of readServerSentEvents(res.body!, signal)) if (e.event === 'poke') await pull();
 */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const queue: ServerSentEvent[] = [];
  const parser = new SseParser((e) => queue.push(e));
  let finished = false;
  const abort = (): void => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', abort, { once: true });
  try {
    while (signal?.aborted !== true) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        parser.feed(decoder.decode());
        parser.end();
        yield* queue.splice(0);
        return;
      }
      parser.feed(decoder.decode(value, { stream: true }));
      yield* queue.splice(0);
    }
  } finally {
    signal?.removeEventListener('abort', abort);
    // The consumer stopped early (break, throw, abort): close the connection.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
