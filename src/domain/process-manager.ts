/**
 * Process managers: durable consumers that turn events into commands for aggregates.
 *
 * Responsibilities:
 * - Run `react(event)` for each event matching the filter, under the consumer's guarantees
 *   (one runner across tabs, checkpoint after success, retries with backoff, dead letters).
 * - Send each command with the triggering event as its causation and correlation (unless
 *   the event carries a correlation of its own).
 * - Give each command the id `<event id>:<manager name>:<index>`, from which its events' ids derive, so a
 *   reaction replayed after a crash (the command had committed, the checkpoint had not)
 *   appends nothing again: the aggregate recognises the command and returns its events.
 * - When a command still fails after the retries, the dead letter holds the event (by id),
 *   the command (category, id, body, index) and the error.
 */
import { CommandFailedError, messageOf } from '../core/errors.ts';
import type { EventFilter, EventMap, RecordedEventOf } from '../core/types.ts';
import type { AggregateCommand } from './aggregate.ts';

/** A process manager: which events it follows and the commands it sends for each. */
export interface ProcessManagerDefinition<E extends EventMap> {
  /** Its durable name: the checkpoint and dead letters are kept under it. */
  name: string;
  filter: EventFilter;
  /** The commands an event calls for, built with `aggregate.command(id, command)`. */
  react: (event: RecordedEventOf<E>) => readonly AggregateCommand[] | Promise<readonly AggregateCommand[]>;
}

/** The consumer handler that runs a process manager's reaction to one event. */
export function processManagerHandler<E extends EventMap>(
  definition: ProcessManagerDefinition<E>,
): (event: RecordedEventOf<E>) => Promise<void> {
  return async (event) => {
    const commands = await definition.react(event);
    for (let index = 0; index < commands.length; index++) {
      const command = commands[index]!;
      try {
        await command.send({
          // Unique per trigger, manager and command: two managers reacting to one event never collide.
          commandId: `${event.id}:${definition.name}:${index}`,
          metadata: { correlationId: event.metadata.correlationId ?? event.id, causationId: event.id },
        });
      } catch (e) {
        throw new CommandFailedError(
          `Command ${index} to ${command.category}-${command.id} failed: ${messageOf(e)}`,
          { category: command.category, id: command.id, command: command.command, index },
          { cause: e },
        );
      }
    }
  };
}
