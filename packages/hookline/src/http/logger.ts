/**
 * The logging hookline needs: pino's call shape (`logger.warn({ sourceId }, 'message')`), so a pino instance
 * or a child of the app's logger can be passed as is. Hookline never logs a body, a secret or a signature.
 */
export interface Logger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug?(fields: Record<string, unknown>, message: string): void;
}

/** The default: errors and warnings to stderr, the rest dropped, so an app that passes nothing still hears of a 500. */
export const consoleLogger: Logger = {
  error(fields, message) {
    console.error(`[hookline] ${message}`, describe(fields));
  },
  warn(fields, message) {
    console.warn(`[hookline] ${message}`, describe(fields));
  },
  info() {},
};

/** A logger that drops everything (tests, or apps that want silence). */
export const silentLogger: Logger = { error() {}, warn() {}, info() {} };

function describe(fields: Record<string, unknown>): Record<string, unknown> {
  const err = fields['err'];
  if (err instanceof Error) return { ...fields, err: err.stack ?? `${err.name}: ${err.message}` };
  return fields;
}
