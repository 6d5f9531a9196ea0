/** Where the sync server reports what an operator should see. */

/** A logger; `console` fits. */
export interface SyncServerLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/** The default logger: console, with a prefix. */
export const consoleLog: SyncServerLog = {
  info: (message) => console.info(`cairndb-server: ${message}`),
  warn: (message) => console.warn(`cairndb-server: ${message}`),
  error: (message, error) =>
    error === undefined ? console.error(`cairndb-server: ${message}`) : console.error(`cairndb-server: ${message}`, error),
};
