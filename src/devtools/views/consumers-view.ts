/**
 * The consumers view: each durable consumer and process manager with its checkpoint, lag
 * and dead letters (`store.consumers()`, `store.deadLetters()`), and whether it runs, and
 * in which tab: the instance that runs holds the Web Lock `cairn:<store>:consumer:<name>`,
 * and `navigator.locks.query()` names the client holding it (matched to a tab through the
 * inspectors' presence) and how many instances wait behind it.
 *
 * Retrying a dead letter runs the consumer's handler, which only the app has: the buttons
 * work for the consumers the app registered with `inspector.register(consumer)` in this tab.
 */
import type { ConsumerInfo, DeadLetter } from '../../core/checkpoints.ts';
import type { InspectorContext, View } from '../context.ts';
import { describeError, errorBox, fill, h, throttle, timeOfDay } from '../dom.ts';

/** How a consumer runs, as the locks and this tab's instances tell. */
interface RunState {
  state: 'running' | 'waiting' | 'stopped' | 'not running' | 'unknown';
  where: string;
  waiting: number;
}

/** The consumers view. */
export class ConsumersView implements View {
  readonly element: HTMLElement;
  readonly #ctx: InspectorContext;
  readonly #consumers = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  readonly #letters = h('div');
  readonly #message = h('div', { class: 'action-result', 'aria-live': 'polite' });
  #stop: (() => void)[] = [];
  readonly #refresh = throttle(() => void this.#reload(), 500);

  constructor(ctx: InspectorContext) {
    this.#ctx = ctx;
    this.element = h(
      'div',
      { class: 'consumers-view' },
      h('section', null, h('h3', null, 'Consumers and process managers'), this.#consumers),
      h('section', null, h('h3', null, 'Dead letters'), this.#message, this.#letters),
    );
  }

  show(): void {
    const timer = setInterval(this.#refresh, 2_000); // Lock holders change without commits.
    this.#stop.push(
      this.#ctx.store.onCommit(this.#refresh),
      this.#ctx.consumers.onChange(this.#refresh),
      this.#ctx.presence.onChange(this.#refresh),
      () => clearInterval(timer),
      this.#refresh.cancel,
    );
    void this.#reload();
  }

  hide(): void {
    for (const stop of this.#stop.splice(0)) stop();
  }

  async #reload(): Promise<void> {
    const store = this.#ctx.store;
    try {
      const [consumers, letters, locks] = await Promise.all([store.consumers(), store.deadLetters(), queryLocks()]);
      this.#drawConsumers(consumers, locks);
      this.#drawLetters(letters);
    } catch (e) {
      fill(this.#consumers, errorBox(e));
    }
  }

  #runState(name: string, locks: LockManagerSnapshot | undefined): RunState {
    const mine = this.#ctx.consumers.get(name);
    if (locks === undefined) {
      // No Web Locks here: only this tab's own instance can be told.
      return mine === undefined ? { state: 'unknown', where: '', waiting: 0 } : { state: mine.state, where: 'this tab', waiting: 0 };
    }
    const lock = `cairn:${this.#ctx.store.name}:consumer:${name}`;
    const held = locks.held?.find((l) => l.name === lock);
    const waiting = locks.pending?.filter((l) => l.name === lock).length ?? 0;
    if (held === undefined) return { state: waiting > 0 ? 'waiting' : mine?.state === 'stopped' ? 'stopped' : 'not running', where: '', waiting };
    const tab = this.#ctx.presence.tabOfClient(held.clientId);
    const where =
      tab === this.#ctx.presence.self ? 'this tab' : tab !== undefined ? `tab “${tab.title || tab.url}”` : 'another tab';
    return { state: 'running', where, waiting };
  }

  #drawConsumers(list: ConsumerInfo[], locks: LockManagerSnapshot | undefined): void {
    if (list.length === 0) {
      fill(this.#consumers, h('p', { class: 'note' }, 'No durable consumer has a checkpoint in this store yet (store.consumer, store.processManager).'));
      return;
    }
    fill(
      this.#consumers,
      h(
        'table',
        null,
        h('thead', null, h('tr', null, h('th', null, 'name'), h('th', null, 'state'), h('th', { class: 'num' }, 'position'),
          h('th', { class: 'num' }, 'lag'), h('th', { class: 'num' }, 'dead letters'), h('th', null, 'checkpoint moved'),
          h('th', null, 'registered here'))),
        h(
          'tbody',
          null,
          list.map((c) => {
            const run = this.#runState(c.name, locks);
            return h(
              'tr',
              { 'data-consumer': c.name, 'data-state': run.state },
              h('td', { class: 'mono' }, c.name),
              h('td', null, h('span', { class: `badge ${run.state.replace(' ', '-')}` }, run.state),
                run.where === '' ? null : h('span', { class: 'muted' }, ` in ${run.where}`),
                run.waiting > 0 ? h('span', { class: 'muted' }, ` · ${run.waiting} waiting`) : null),
              h('td', { class: 'num' }, c.position),
              h('td', { class: 'num' }, c.lag),
              h('td', { class: 'num' }, c.deadLetters),
              h('td', { class: 'mono' }, timeOfDay(c.updatedAt)),
              h('td', null, this.#ctx.consumers.get(c.name) === undefined ? '—' : 'yes'),
            );
          }),
        ),
      ),
    );
  }

  #drawLetters(letters: DeadLetter[]): void {
    if (letters.length === 0) {
      fill(this.#letters, h('p', { class: 'muted' }, 'None.'));
      return;
    }
    const hint = 'Register this consumer with inspector.register(consumer) in this tab to retry or discard from here';
    fill(
      this.#letters,
      h(
        'table',
        null,
        h('thead', null, h('tr', null, h('th', null, 'consumer'), h('th', { class: 'num' }, 'position'), h('th', { class: 'num' }, 'attempts'),
          h('th', null, 'at'), h('th', null, 'error'), h('th', null, ''))),
        h(
          'tbody',
          null,
          letters.map((d) => {
            const consumer = this.#ctx.consumers.get(d.consumer);
            const action = (label: string, run: () => Promise<string>) =>
              h('button', {
                type: 'button',
                'data-action': label.toLowerCase(),
                disabled: consumer === undefined,
                title: consumer === undefined ? hint : `${label} this dead letter`,
                onclick: () => void this.#act(run),
              }, label);
            return h(
              'tr',
              { 'data-dead-letter': `${d.consumer}:${d.position}` },
              h('td', { class: 'mono' }, d.consumer),
              h('td', { class: 'num' },
                h('button', { type: 'button', class: 'link', title: 'Show the event', onclick: () => this.#ctx.openLog({ eventId: d.eventId }) }, d.position)),
              h('td', { class: 'num' }, d.attempts),
              h('td', { class: 'mono' }, timeOfDay(d.at)),
              h('td', null, h('span', { class: 'mono' }, d.error),
                d.detail == null ? null : h('details', null, h('summary', null, 'detail'), h('pre', null, pretty(d.detail)))),
              h(
                'td',
                { style: 'white-space:nowrap' },
                action('Retry', async () => {
                  await consumer!.retryDeadLetter(d.position);
                  return `Retried ${d.consumer} at ${d.position}: the handler succeeded and the dead letter is gone.`;
                }),
                ' ',
                action('Discard', async () => {
                  const gone = await consumer!.discardDeadLetter(d.position);
                  return gone ? `Discarded ${d.consumer} at ${d.position}.` : 'It was already gone.';
                }),
              ),
            );
          }),
        ),
      ),
    );
  }

  async #act(run: () => Promise<string>): Promise<void> {
    try {
      const text = await run();
      this.#message.dataset.outcome = 'ok';
      fill(this.#message, h('p', { class: 'ok' }, text));
    } catch (e) {
      this.#message.dataset.outcome = 'failed';
      this.#message.dataset.code = describeError(e).code ?? '';
      fill(this.#message, errorBox(e));
    }
    await this.#reload();
  }
}

async function queryLocks(): Promise<LockManagerSnapshot | undefined> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (locks === undefined) return undefined;
  try {
    return await locks.query();
  } catch {
    return undefined;
  }
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
