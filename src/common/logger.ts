import pino, { type Logger } from 'pino';

/** The service's logger (JSON lines); the CLI's commands use it too, without loading the service. */
export function createLogger(level: string): Logger {
  return pino({ level, base: undefined });
}
